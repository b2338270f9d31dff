# lwIP metrics source: an integration test against the host's lwIP (Debian's liblwip-dev,
# run in-process with its tcpip thread), when the port was built with it.
if(TARGET defender_metrics_lwip AND TARGET PkgConfig::LWIP)
    defender_add_unit_test(NAME integration_metrics_lwip
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_metrics_lwip.c
        LIBS defender_metrics_lwip)
    set_tests_properties(integration_metrics_lwip PROPERTIES TIMEOUT 120)
endif()
