/**
 * @file test_agent_util.h
 * @brief Runs the defender-agent program from the agent's integration tests.
 */
#ifndef TEST_AGENT_UTIL_H
#define TEST_AGENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** @brief Output kept of one run. */
#define AGENT_TEST_OUTPUT_SIZE 262144U

/** @brief Result of a finished run. */
typedef struct AgentTestResult
{
    int exitCode;                     /**< Exit status; -1 when killed or timed out. */
    double seconds;                   /**< Wall time of the run. */
    char out[AGENT_TEST_OUTPUT_SIZE]; /**< Standard output (NUL-terminated). */
    char err[AGENT_TEST_OUTPUT_SIZE]; /**< Standard error (NUL-terminated). */
} AgentTestResult_t;

/**
 * @brief Runs the agent with `args` (NULL-terminated, without the program name),
 * killing it after timeoutMs.
 * @return true when it exited by itself.
 */
bool AgentTest_Run(const char *const *args, uint32_t timeoutMs, AgentTestResult_t *pResult);

/**
 * @brief Starts the agent with stdout on a pipe (returned in *pStdout) and stderr in
 * the file `errPath`.
 * @return The process id, or -1.
 */
pid_t AgentTest_Start(const char *const *args, int *pStdout, const char *errPath);

/**
 * @brief Reads one line from a descriptor (byte by byte), waiting at most timeoutMs.
 * @return true when a whole line was read (without the newline, NUL-terminated).
 */
bool AgentTest_ReadLine(int fd, char *pLine, size_t size, uint32_t timeoutMs);

/**
 * @brief Waits for a started agent to exit, killing it after timeoutMs.
 * @return Exit status, or -1 when killed.
 */
int AgentTest_Wait(pid_t pid, uint32_t timeoutMs);

/** @brief Reads a whole file into a buffer (NUL-terminated). */
void AgentTest_ReadFile(const char *pPath, char *pBuffer, size_t size);

/** @brief Monotonic ms. */
uint64_t AgentTest_NowMs(void);

#endif /* TEST_AGENT_UTIL_H */
