/**
 * @file agent_log.c
 * @brief defender-agent log: one line per message on stderr, journal-aware.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/** @brief Least important level written. */
static volatile DefenderLogLevel_t currentLevel = DEFENDER_LOG_INFO;

void Agent_LogSetLevel(DefenderLogLevel_t level)
{
    currentLevel = level;
}

/**
 * @brief Writes one complete line with a single write() so that lines of several
 * threads never interleave.
 * @param[in] level Level.
 * @param[in] pMessage Message text.
 */
static void writeLine(DefenderLogLevel_t level, const char *pMessage)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    static const char priorities[] = {'3', '4', '6', '7'};
    char line[1200];
    int length;
    size_t index = ((size_t) level < 4U) ? (size_t) level : 3U;

    if (getenv("JOURNAL_STREAM") != NULL)
    {
        /* The journal reads the priority from a "<N>" prefix and adds its own time. */
        length = snprintf(line, sizeof(line), "<%c>%s\n", priorities[index], pMessage);
    }
    else
    {
        struct timespec now;
        struct tm utc;
        char stamp[32];

        (void) clock_gettime(CLOCK_REALTIME, &now);
        (void) gmtime_r(&now.tv_sec, &utc);
        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
        length = snprintf(line, sizeof(line), "%s.%03ldZ defender-agent [%s] %s\n", stamp,
                          now.tv_nsec / 1000000L, names[index], pMessage);
    }
    if (length > 0)
    {
        size_t size = ((size_t) length < sizeof(line)) ? (size_t) length : (sizeof(line) - 1U);
        line[size - 1U] = '\n';
        (void) write(STDERR_FILENO, line, size);
    }
}

void Agent_Log(DefenderLogLevel_t level, const char *pFormat, ...)
{
    char message[1024];
    va_list arguments;

    if (level <= currentLevel)
    {
        va_start(arguments, pFormat);
        (void) vsnprintf(message, sizeof(message), pFormat, arguments);
        va_end(arguments);
        writeLine(level, message);
    }
}

void Agent_LogCallback(void *pContext, DefenderLogLevel_t level, const char *pMessage)
{
    (void) pContext;
    if ((pMessage != NULL) && (level <= currentLevel))
    {
        writeLine(level, pMessage);
    }
}
