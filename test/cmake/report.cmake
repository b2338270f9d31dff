# Report encoder and address text (source/defender_report*.c, source/defender_address.c).
defender_add_unit_test(NAME unit_report
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_report.c
    LIBS defender_core PkgConfig::CJSON ${CBOR_LIBRARY} m)
target_include_directories(unit_report PRIVATE ${PROJECT_SOURCE_DIR}/source/include)

defender_add_unit_test(NAME unit_address
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_address.c
    LIBS defender_core)

# The same tests against the compact custom-number rounding of the MCU configuration
# (DEFENDER_CONFIG_EXACT_NUMBER_TEXT 0): the encoder is compiled into the test.
defender_add_unit_test(NAME unit_report_compact
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_report.c
            ${PROJECT_SOURCE_DIR}/source/defender_report.c
            ${PROJECT_SOURCE_DIR}/source/defender_report_json.c
            ${PROJECT_SOURCE_DIR}/source/defender_report_cbor.c
            ${PROJECT_SOURCE_DIR}/source/defender_address.c
            ${PROJECT_SOURCE_DIR}/source/defender_topic.c
    LIBS PkgConfig::CJSON ${CBOR_LIBRARY} m
    DEFINITIONS DEFENDER_CONFIG_EXACT_NUMBER_TEXT=0)
target_include_directories(unit_report_compact PRIVATE
    $<TARGET_PROPERTY:defender_core,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(unit_report_compact PRIVATE
    $<TARGET_PROPERTY:defender_core,INTERFACE_COMPILE_DEFINITIONS>)
