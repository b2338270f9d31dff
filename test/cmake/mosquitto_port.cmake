# The agent's libmosquitto connection against a scripted broker, then a real one.
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME integration_mosquitto_resubscribe
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_mosquitto_resubscribe.c
        LIBS defender defender_test_support)
    set_tests_properties(integration_mosquitto_resubscribe PROPERTIES TIMEOUT 60
                         LABELS integration)
endif()

# A subscription the broker refuses (Mosquitto's dynamic-security plugin), then allows.
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME integration_mosquitto_refused_subscription
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_mosquitto_refused_subscription.c
        LIBS defender defender_test_support)
    set_tests_properties(integration_mosquitto_refused_subscription PROPERTIES TIMEOUT 60
                         LABELS integration)
endif()

# A stop while the broker's name is looked up and DNS does not answer (private namespaces).
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME integration_mosquitto_slow_dns
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_mosquitto_slow_dns.c
        LIBS defender defender_test_support)
    set_tests_properties(integration_mosquitto_slow_dns PROPERTIES TIMEOUT 120
                         LABELS integration)
endif()
