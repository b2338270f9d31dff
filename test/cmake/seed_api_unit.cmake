# The seed API over a fake platform (fake MQTT, clock and metrics source; the POSIX OS
# port runs the agent task).
if(DEFENDER_BUILD_LINUX)
    defender_add_unit_test(NAME unit_seed_api
        SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_seed_api_unit.c
                ${PROJECT_SOURCE_DIR}/test/common/fake_clock.c
                ${PROJECT_SOURCE_DIR}/test/common/fake_mqtt.c
                ${PROJECT_SOURCE_DIR}/test/common/fake_source.c
                ${PROJECT_SOURCE_DIR}/source/defender.c
                ${PROJECT_SOURCE_DIR}/source/defender_runner.c
        LIBS defender_posix PkgConfig::CJSON)
    target_include_directories(unit_seed_api PRIVATE ${PROJECT_SOURCE_DIR}/source/include
                               ${PROJECT_SOURCE_DIR}/source/interface)
endif()
