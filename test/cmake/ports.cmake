# Unit tests of the Linux ports' helpers, and of the production period floor (PD-23).
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME unit_linux_ports
        SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_linux_ports.c
        LIBS defender)
endif()

# The core and seed API compiled again with the production floor of 300 s.
defender_add_unit_test(NAME unit_period_floor
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_period_floor.c ${DEFENDER_CORE_SOURCES}
            ${PROJECT_SOURCE_DIR}/source/defender.c ${PROJECT_SOURCE_DIR}/source/defender_runner.c
    DEFINITIONS DEFENDER_CONFIG_MIN_PERIOD_SECONDS=300 DEFENDER_DO_NOT_USE_CUSTOM_CONFIG)
target_include_directories(unit_period_floor PRIVATE ${PROJECT_SOURCE_DIR}/source/include
                           ${PROJECT_SOURCE_DIR}/source/interface)
