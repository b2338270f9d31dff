# Report encoder and address text (source/defender_report*.c, source/defender_address.c).
defender_add_unit_test(NAME unit_report
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_report.c
    LIBS defender_core PkgConfig::CJSON ${CBOR_LIBRARY})
target_include_directories(unit_report PRIVATE ${PROJECT_SOURCE_DIR}/source/include)

defender_add_unit_test(NAME unit_address
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_address.c
    LIBS defender_core)
