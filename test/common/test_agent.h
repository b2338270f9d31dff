/**
 * @file test_agent.h
 * @brief One agent context on the fakes (clock, MQTT, metrics source) with the default
 * settings, for tests that build the core with a configuration option of their own.
 */
#ifndef TEST_AGENT_H
#define TEST_AGENT_H

#include <stdint.h>

#include "defender_core.h"
#include "fake_clock.h"
#include "fake_mqtt.h"
#include "fake_source.h"

/** @brief Thing name of the test agent. */
#define TEST_AGENT_THING "sensor-42"

/** @brief The agent and its fakes. */
typedef struct TestAgent
{
    FakeClock_t clock;
    FakeMqtt_t mqtt;
    FakeSource_t source;
    DefenderSettings_t settings;
    DefenderInterfaces_t interfaces;
    DefenderContext_t context;
    uint8_t reportBuffer[4096];
} TestAgent_t;

/** @brief Fakes initialised; settings from Defender_DefaultSettings with the thing name
 * and report buffer filled in. Defender_Init is left to the test. */
void TestAgent_Setup(TestAgent_t *pAgent);

/** @brief Connects, starts and processes once: asserts that one report was published and
 * returns its id. */
uint64_t TestAgent_StartAndPublish(TestAgent_t *pAgent);

#endif /* TEST_AGENT_H */
