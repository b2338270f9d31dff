# defender-agent: unit tests of its option, configuration and command-runner code, and
# integration tests that run the program against a real broker, the test peer and the
# host's (or a private network namespace's) real sockets.
if(TARGET defender-agent)
    defender_add_unit_test(NAME unit_agent
        SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_agent_options.c
        LIBS defender_agent_lib
        DEFINITIONS DEFENDER_AGENT_EXAMPLE_CONF="${PROJECT_BINARY_DIR}/tools/defender-agent/defender-agent.conf")

    set(AGENT_TEST_DEFINITIONS DEFENDER_AGENT_PATH="$<TARGET_FILE:defender-agent>")
    defender_add_unit_test(NAME integration_agent_once
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_agent_once.c
                ${PROJECT_SOURCE_DIR}/test/integration/test_agent_util.c
        LIBS defender_test_support PkgConfig::CJSON
        DEFINITIONS ${AGENT_TEST_DEFINITIONS})
    add_dependencies(integration_agent_once defender-agent)
    set_tests_properties(integration_agent_once PROPERTIES TIMEOUT 120)

    defender_add_unit_test(NAME integration_agent_tls
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_agent_tls.c
                ${PROJECT_SOURCE_DIR}/test/integration/test_agent_util.c
        LIBS defender_test_support PkgConfig::CJSON
        DEFINITIONS ${AGENT_TEST_DEFINITIONS})
    add_dependencies(integration_agent_tls defender-agent)
    set_tests_properties(integration_agent_tls PROPERTIES TIMEOUT 120)

    defender_add_unit_test(NAME integration_agent_metrics
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_agent_metrics.c
                ${PROJECT_SOURCE_DIR}/test/integration/test_agent_util.c
        LIBS defender_test_support defender_core PkgConfig::CJSON ${CBOR_LIBRARY} m
        DEFINITIONS ${AGENT_TEST_DEFINITIONS})
    add_dependencies(integration_agent_metrics defender-agent)
    set_tests_properties(integration_agent_metrics PROPERTIES TIMEOUT 120)
endif()
