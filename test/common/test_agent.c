/**
 * @file test_agent.c
 * @brief One agent context on the fakes, for tests that build the core with an option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_agent.h"

void TestAgent_Setup(TestAgent_t *pAgent)
{
    memset(pAgent, 0, sizeof(*pAgent));
    FakeClock_Init(&pAgent->clock, 1000U, 1735689600000ULL);
    FakeMqtt_Init(&pAgent->mqtt);
    FakeSource_Init(&pAgent->source);
    Defender_DefaultSettings(&pAgent->settings);
    pAgent->settings.pThingName = TEST_AGENT_THING;
    pAgent->settings.thingNameLength = strlen(TEST_AGENT_THING);
    pAgent->settings.pReportBuffer = pAgent->reportBuffer;
    pAgent->settings.reportBufferSize = sizeof(pAgent->reportBuffer);
    pAgent->interfaces.mqtt = FakeMqtt_Interface(&pAgent->mqtt, true);
    pAgent->interfaces.clock = FakeClock_Interface(&pAgent->clock, true, true);
    pAgent->interfaces.metricsSource = FakeSource_Interface(&pAgent->source);
}

uint64_t TestAgent_StartAndPublish(TestAgent_t *pAgent)
{
    DefenderReportInfo_t info;
    uint32_t next = 0U;

    Defender_OnConnectionChanged(&pAgent->context, true, false);
    assert_int_equal(Defender_Start(&pAgent->context), DEFENDER_SUCCESS);
    assert_int_equal(Defender_Process(&pAgent->context, &next), DEFENDER_SUCCESS);
    assert_int_equal(pAgent->mqtt.publishSucceeded, 1);
    assert_int_equal(Defender_GetLastReport(&pAgent->context, &info), DEFENDER_SUCCESS);
    return info.reportId;
}
