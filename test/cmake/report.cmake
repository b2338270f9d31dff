# Report encoder and address text (source/defender_report*.c, source/defender_address.c).
defender_add_unit_test(NAME unit_report
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_report.c
            ${PROJECT_SOURCE_DIR}/test/common/report_examples.c
    LIBS defender_core PkgConfig::CJSON ${CBOR_LIBRARY} m)
target_include_directories(unit_report PRIVATE ${PROJECT_SOURCE_DIR}/source/include)

defender_add_unit_test(NAME unit_address
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_address.c
    LIBS defender_core)

# The same tests against the compact custom-number rounding of the MCU configuration
# (DEFENDER_CONFIG_EXACT_NUMBER_TEXT 0): the encoder is compiled into the test.
defender_add_unit_test(NAME unit_report_compact
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_report.c
            ${PROJECT_SOURCE_DIR}/test/common/report_examples.c
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

# Tests that compile the core and the seed API themselves with a configuration option: the
# sources besides the test file.
set(DEFENDER_OPTION_TEST_SOURCES
    ${PROJECT_SOURCE_DIR}/test/common/report_examples.c
    ${PROJECT_SOURCE_DIR}/test/common/fake_clock.c
    ${PROJECT_SOURCE_DIR}/test/common/fake_mqtt.c
    ${PROJECT_SOURCE_DIR}/test/common/fake_source.c
    ${PROJECT_SOURCE_DIR}/test/common/test_agent.c
    ${DEFENDER_CORE_SOURCES}
    ${PROJECT_SOURCE_DIR}/source/defender.c
    ${PROJECT_SOURCE_DIR}/source/defender_runner.c)

# The core built with one report format (DEFENDER_CONFIG_FORMAT_JSON 0, then
# DEFENDER_CONFIG_FORMAT_CBOR 0): spec examples byte for byte, the other format refused.
foreach(omitted JSON CBOR)
    if(omitted STREQUAL "JSON")
        set(built cbor)
    else()
        set(built json)
    endif()
    defender_add_unit_test(NAME unit_format_${built}_only
        SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_format_option.c ${DEFENDER_OPTION_TEST_SOURCES}
        DEFINITIONS DEFENDER_CONFIG_FORMAT_${omitted}=0 DEFENDER_DO_NOT_USE_CUSTOM_CONFIG)
    target_include_directories(unit_format_${built}_only PRIVATE
        ${PROJECT_SOURCE_DIR}/source/include ${PROJECT_SOURCE_DIR}/source/interface)
endforeach()

# The core and the seed API built without custom metrics (DEFENDER_CONFIG_MAX_CUSTOM_METRICS 0).
defender_add_unit_test(NAME unit_no_custom_metrics
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_no_custom_metrics.c ${DEFENDER_OPTION_TEST_SOURCES}
    DEFINITIONS DEFENDER_CONFIG_MAX_CUSTOM_METRICS=0U DEFENDER_DO_NOT_USE_CUSTOM_CONFIG)
target_include_directories(unit_no_custom_metrics PRIVATE
    ${PROJECT_SOURCE_DIR}/source/include ${PROJECT_SOURCE_DIR}/source/interface)
