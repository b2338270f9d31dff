# The seed API end to end on Linux (real broker, real sockets, test peer).
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME integration_seed_api
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_seed_api.c
                ${PROJECT_SOURCE_DIR}/examples/seed/my_defender_init.c
        LIBS defender defender_test_support PkgConfig::CJSON)
    set_tests_properties(integration_seed_api PROPERTIES TIMEOUT 120 LABELS integration)

    # The seed API over mutual TLS configured only through the environment, and the
    # default ports (8883 with TLS, 1883 without) in a private network namespace.
    defender_add_unit_test(NAME integration_seed_tls
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_seed_tls.c
        LIBS defender defender_test_support)
    set_tests_properties(integration_seed_tls PROPERTIES TIMEOUT 120 LABELS integration)
endif()

# The agent library against this project's own service (defender-detect).
if(DEFENDER_BUILD_LINUX AND DEFENDER_BUILD_SERVICE AND TARGET defender-detect)
    defender_add_unit_test(NAME integration_seed_vs_detect
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_seed_vs_detect.c
                ${PROJECT_SOURCE_DIR}/examples/seed/my_defender_init.c
        LIBS defender defender_test_support
        ARGS $<TARGET_FILE:defender-detect>)
    set_tests_properties(integration_seed_vs_detect PROPERTIES TIMEOUT 120)
endif()
