/**
 * @file test_agent_util.c
 * @brief Runs the defender-agent program from the agent's integration tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_agent_util.h"

#ifndef DEFENDER_AGENT_PATH
#error "DEFENDER_AGENT_PATH must name the defender-agent program"
#endif

uint64_t AgentTest_NowMs(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000U + (uint64_t) now.tv_nsec / 1000000U;
}

void AgentTest_ReadFile(const char *pPath, char *pBuffer, size_t size)
{
    FILE *pFile = fopen(pPath, "r");
    size_t length = 0;

    if (pFile != NULL)
    {
        length = fread(pBuffer, 1, size - 1, pFile);
        fclose(pFile);
    }
    pBuffer[length] = '\0';
}

/** @brief Builds argv: program name then args. */
static char **buildArgv(const char *const *args)
{
    static char *argv[128];
    size_t n = 0;

    argv[n++] = (char *) DEFENDER_AGENT_PATH;
    while ((args != NULL) && (args[n - 1] != NULL) && (n < 127))
    {
        argv[n] = (char *) args[n - 1];
        n++;
    }
    argv[n] = NULL;
    return argv;
}

int AgentTest_Wait(pid_t pid, uint32_t timeoutMs)
{
    uint64_t end = AgentTest_NowMs() + timeoutMs;
    int status = 0;
    int code = -1;
    pid_t result = 0;

    while ((result = waitpid(pid, &status, WNOHANG)) == 0 && AgentTest_NowMs() < end)
    {
        usleep(5000);
    }
    if (result == 0)
    {
        fprintf(stderr, "agent did not exit within %u ms: killed\n", (unsigned) timeoutMs);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    else if ((result == pid) && WIFEXITED(status))
    {
        code = WEXITSTATUS(status);
    }
    return code;
}

pid_t AgentTest_Start(const char *const *args, int *pStdout, const char *errPath)
{
    int fds[2];
    pid_t pid;
    char **argv = buildArgv(args);

    if (pipe2(fds, O_CLOEXEC) != 0)
    {
        return -1;
    }
    pid = fork();
    if (pid == 0)
    {
        int err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fds[1], STDOUT_FILENO);
        if (err >= 0)
        {
            dup2(err, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    *pStdout = fds[0];
    return pid;
}

bool AgentTest_ReadLine(int fd, char *pLine, size_t size, uint32_t timeoutMs)
{
    uint64_t end = AgentTest_NowMs() + timeoutMs;
    size_t length = 0;
    bool done = false;

    while (!done && (AgentTest_NowMs() < end))
    {
        struct pollfd item = {fd, POLLIN, 0};
        char c;
        if (poll(&item, 1, 50) > 0)
        {
            ssize_t got = read(fd, &c, 1);
            if (got <= 0)
            {
                break;
            }
            if (c == '\n')
            {
                done = true;
            }
            else if (length < size - 1)
            {
                pLine[length++] = c;
            }
        }
    }
    pLine[length] = '\0';
    return done;
}

bool AgentTest_Run(const char *const *args, uint32_t timeoutMs, AgentTestResult_t *pResult)
{
    char outPath[] = "/tmp/agent-test-out-XXXXXX";
    char errPath[] = "/tmp/agent-test-err-XXXXXX";
    int outFd = mkstemp(outPath);
    int errFd = mkstemp(errPath);
    char **argv = buildArgv(args);
    uint64_t start = AgentTest_NowMs();
    pid_t pid;

    pid = fork();
    if (pid == 0)
    {
        dup2(outFd, STDOUT_FILENO);
        dup2(errFd, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(outFd);
    close(errFd);
    pResult->exitCode = AgentTest_Wait(pid, timeoutMs);
    pResult->seconds = (double) (AgentTest_NowMs() - start) / 1000.0;
    AgentTest_ReadFile(outPath, pResult->out, sizeof(pResult->out));
    AgentTest_ReadFile(errPath, pResult->err, sizeof(pResult->err));
    unlink(outPath);
    unlink(errPath);
    if (getenv("AGENT_TEST_VERBOSE") != NULL)
    {
        fprintf(stderr, "--- agent exit %d (%.2f s)\n--- stdout:\n%s--- stderr:\n%s",
                pResult->exitCode, pResult->seconds, pResult->out, pResult->err);
    }
    return pResult->exitCode >= 0;
}
