# The seed API end to end on Linux (real broker, real sockets, test peer).
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME integration_seed_api
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_seed_api.c
                ${PROJECT_SOURCE_DIR}/examples/seed/my_defender_init.c
        LIBS defender defender_test_support PkgConfig::CJSON)
    set_tests_properties(integration_seed_api PROPERTIES TIMEOUT 120 LABELS integration)
endif()
