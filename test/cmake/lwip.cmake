# lwIP metrics source: an integration test against the host's lwIP (Debian's liblwip-dev,
# run in-process with its tcpip thread), when the port was built with it.
if(TARGET defender_metrics_lwip AND TARGET PkgConfig::LWIP)
    defender_add_unit_test(NAME integration_metrics_lwip
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_metrics_lwip.c
        LIBS defender_metrics_lwip)
    set_tests_properties(integration_metrics_lwip PROPERTIES TIMEOUT 120)
endif()

# Unit tests: the source compiled against the host's lwIP headers in other configurations
# (test/unit/lwip/lwipopts.h) and run over lists the test builds; no lwIP code is linked.
# Each program: <name> <TEST_LWIP_* definitions>.
if(TARGET PkgConfig::LWIP)
    get_target_property(_lwip_includes PkgConfig::LWIP INTERFACE_INCLUDE_DIRECTORIES)
    set(_lwip_variants
        "unit_metrics_lwip\;TEST_LWIP_IPV4=1\;TEST_LWIP_IPV6=1\;TEST_LWIP_NO_SYS=0\;TEST_LWIP_MIB2=1"
        "unit_metrics_lwip_ipv4_nosys\;TEST_LWIP_IPV4=1\;TEST_LWIP_IPV6=0\;TEST_LWIP_NO_SYS=1\;TEST_LWIP_MIB2=0"
        "unit_metrics_lwip_ipv6_single\;TEST_LWIP_IPV4=0\;TEST_LWIP_IPV6=1\;TEST_LWIP_NO_SYS=1\;TEST_LWIP_MIB2=1\;TEST_LWIP_SINGLE_NETIF=1")
    foreach(_variant ${_lwip_variants})
        list(GET _variant 0 _name)
        list(SUBLIST _variant 1 -1 _definitions)
        defender_add_unit_test(NAME ${_name}
            SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_metrics_lwip.c
                    ${PROJECT_SOURCE_DIR}/ports/lwip/defender_metrics_lwip.c
            LIBS defender_core
            DEFINITIONS ${_definitions} _POSIX_C_SOURCE=200809L)
        # The test's lwipopts.h comes before the one installed beside lwIP's headers.
        target_include_directories(${_name} PRIVATE ${PROJECT_SOURCE_DIR}/test/unit/lwip
                                   ${PROJECT_SOURCE_DIR}/ports/lwip/include)
        target_include_directories(${_name} SYSTEM PRIVATE ${_lwip_includes})
        # The port's own warning set, in every configuration.
        set_source_files_properties(${PROJECT_SOURCE_DIR}/ports/lwip/defender_metrics_lwip.c
            PROPERTIES COMPILE_OPTIONS "${DEFENDER_WARNINGS};-Wpedantic")
        set_target_properties(${_name} PROPERTIES C_STANDARD 99)
    endforeach()
endif()
