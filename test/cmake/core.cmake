# Agent core: state machine (source/defender_core.c) and metrics sink
# (source/defender_sink.c), driven through fake clock, MQTT, store and metrics source
# (test/common/fake_*.c). Published reports are decoded with cJSON.
set(DEFENDER_TEST_FAKES
    ${PROJECT_SOURCE_DIR}/test/common/fake_clock.c
    ${PROJECT_SOURCE_DIR}/test/common/fake_mqtt.c
    ${PROJECT_SOURCE_DIR}/test/common/fake_source.c)

defender_add_unit_test(NAME unit_core
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_core.c ${DEFENDER_TEST_FAKES}
    LIBS defender_core PkgConfig::CJSON)
defender_add_unit_test(NAME unit_sink
    SOURCES ${PROJECT_SOURCE_DIR}/test/unit/test_defender_sink.c
    LIBS defender_core)
