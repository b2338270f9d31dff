/**
 * @file defender_runner.c
 * @brief Runs an agent core in a task: process, sleep until the next deadline or event.
 */
#include <string.h>

#include "defender_runner.h"

DefenderStatus_t DefenderRunner_Init(DefenderRunner_t *pRunner, DefenderContext_t *pAgent,
                                     const DefenderOsInterface_t *pOs)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pRunner != NULL) && (pAgent != NULL) && (pOs != NULL) && (pOs->pfTaskCreate != NULL) &&
        (pOs->pfTaskJoin != NULL) && (pOs->pfLock != NULL) && (pOs->pfUnlock != NULL) &&
        (pOs->pfWait != NULL) && (pOs->pfSignal != NULL))
    {
        (void) memset(pRunner, 0, sizeof(*pRunner));
        pRunner->pAgent = pAgent;
        pRunner->os = *pOs;
        status = DEFENDER_SUCCESS;
    }

    return status;
}

/**
 * @brief The agent task: processes the agent and sleeps until it is needed again.
 * @param[in] pArgument The runner.
 */
static void runnerTask(void *pArgument)
{
    DefenderRunner_t *pRunner = (DefenderRunner_t *) pArgument;
    uint32_t msUntilNext = 0U;

    pRunner->os.pfLock(pRunner->os.pContext);
    while (!pRunner->stopRequested)
    {
        (void) Defender_Process(pRunner->pAgent, &msUntilNext);
        if (!pRunner->stopRequested)
        {
            pRunner->os.pfWait(pRunner->os.pContext, msUntilNext);
        }
    }
    pRunner->os.pfUnlock(pRunner->os.pContext);
}

DefenderStatus_t DefenderRunner_Start(DefenderRunner_t *pRunner)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pRunner != NULL) && (pRunner->pAgent != NULL))
    {
        status = DEFENDER_ALREADY_STARTED;
        if (!pRunner->taskRunning)
        {
            pRunner->os.pfLock(pRunner->os.pContext);
            status = Defender_Start(pRunner->pAgent);
            pRunner->stopRequested = false;
            pRunner->os.pfUnlock(pRunner->os.pContext);

            if (status == DEFENDER_SUCCESS)
            {
                if (pRunner->os.pfTaskCreate(pRunner->os.pContext, runnerTask, pRunner))
                {
                    pRunner->taskRunning = true;
                }
                else
                {
                    pRunner->os.pfLock(pRunner->os.pContext);
                    (void) Defender_Stop(pRunner->pAgent);
                    pRunner->os.pfUnlock(pRunner->os.pContext);
                    status = DEFENDER_ERROR;
                }
            }
        }
    }

    return status;
}

DefenderStatus_t DefenderRunner_Stop(DefenderRunner_t *pRunner)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if ((pRunner != NULL) && (pRunner->pAgent != NULL))
    {
        status = DEFENDER_NOT_STARTED;
        if (pRunner->taskRunning)
        {
            pRunner->os.pfLock(pRunner->os.pContext);
            pRunner->stopRequested = true;
            pRunner->os.pfSignal(pRunner->os.pContext);
            pRunner->os.pfUnlock(pRunner->os.pContext);

            pRunner->os.pfTaskJoin(pRunner->os.pContext);
            pRunner->taskRunning = false;

            pRunner->os.pfLock(pRunner->os.pContext);
            status = Defender_Stop(pRunner->pAgent);
            pRunner->os.pfUnlock(pRunner->os.pContext);
        }
    }

    return status;
}

void DefenderRunner_OnConnectionChanged(DefenderRunner_t *pRunner, bool connected,
                                        bool sessionPresent)
{
    if (pRunner != NULL)
    {
        pRunner->os.pfLock(pRunner->os.pContext);
        Defender_OnConnectionChanged(pRunner->pAgent, connected, sessionPresent);
        pRunner->os.pfSignal(pRunner->os.pContext);
        pRunner->os.pfUnlock(pRunner->os.pContext);
    }
}

void DefenderRunner_OnSubscribeResult(DefenderRunner_t *pRunner, const char *pTopic,
                                      size_t topicLength, bool granted)
{
    if (pRunner != NULL)
    {
        pRunner->os.pfLock(pRunner->os.pContext);
        Defender_OnSubscribeResult(pRunner->pAgent, pTopic, topicLength, granted);
        pRunner->os.pfSignal(pRunner->os.pContext);
        pRunner->os.pfUnlock(pRunner->os.pContext);
    }
}

DefenderStatus_t DefenderRunner_OnMessage(DefenderRunner_t *pRunner, const char *pTopic,
                                          size_t topicLength, const uint8_t *pPayload,
                                          size_t payloadLength)
{
    DefenderStatus_t status = DEFENDER_BAD_PARAMETER;

    if (pRunner != NULL)
    {
        pRunner->os.pfLock(pRunner->os.pContext);
        status = Defender_OnMessage(pRunner->pAgent, pTopic, topicLength, pPayload, payloadLength);
        pRunner->os.pfSignal(pRunner->os.pContext);
        pRunner->os.pfUnlock(pRunner->os.pContext);
    }

    return status;
}

void DefenderRunner_Lock(DefenderRunner_t *pRunner)
{
    if (pRunner != NULL)
    {
        pRunner->os.pfLock(pRunner->os.pContext);
    }
}

void DefenderRunner_Unlock(DefenderRunner_t *pRunner)
{
    if (pRunner != NULL)
    {
        pRunner->os.pfSignal(pRunner->os.pContext);
        pRunner->os.pfUnlock(pRunner->os.pContext);
    }
}
