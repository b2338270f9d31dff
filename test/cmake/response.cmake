# Topics, thing names and the response parser (source/defender_topic.c,
# source/defender_response.c). The response test cross-checks with cJSON and libcbor.
defender_add_unit_test(NAME unit_topic
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_topic.c
    LIBS defender_core)
defender_add_unit_test(NAME unit_response
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_response.c
            ${PROJECT_SOURCE_DIR}/test/common/report_examples.c
    LIBS defender_core PkgConfig::CJSON ${CBOR_LIBRARY})
