/**
 * @file agent_command.c
 * @brief defender-agent custom metrics read from shell commands: run with a time
 * limit and an output limit, parse per metric type, leave out on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

/**
 * @brief Writes a formatted message into a buffer.
 * @param[out] pText Buffer (may be NULL).
 * @param[in] size Its size.
 * @param[in] pFormat printf format.
 */
static void setText(char *pText, size_t size, const char *pFormat, ...)
    __attribute__((format(printf, 3, 4)));

static void setText(char *pText, size_t size, const char *pFormat, ...)
{
    va_list arguments;

    if ((pText != NULL) && (size > 0U))
    {
        va_start(arguments, pFormat);
        (void) vsnprintf(pText, size, pFormat, arguments);
        va_end(arguments);
    }
}

/** @brief Monotonic time in ms. */
static uint64_t monotonicMs(void)
{
    struct timespec now;

    (void) clock_gettime(CLOCK_MONOTONIC, &now);
    return ((uint64_t) now.tv_sec * 1000U) + ((uint64_t) now.tv_nsec / 1000000U);
}

/**
 * @brief Starts `/bin/sh -c COMMAND` in a new process group, stdout to `outFd`.
 * @param[in] pCommand Command.
 * @param[in] outFd Write end of the output pipe.
 * @param[in] readFd Read end (closed in the child).
 * @param[out] pPid Child.
 * @return 0 or an errno value.
 */
static int spawnShell(const char *pCommand, int outFd, int readFd, pid_t *pPid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t empty;
    sigset_t defaults;
    static char shellName[] = "sh";
    static char commandFlag[] = "-c";
    char command[AGENT_COMMAND_SIZE];
    char *arguments[4];
    int rc;

    (void) snprintf(command, sizeof(command), "%s", pCommand);
    arguments[0] = shellName;
    arguments[1] = commandFlag;
    arguments[2] = command;
    arguments[3] = NULL;
    (void) sigemptyset(&empty);
    (void) sigemptyset(&defaults);
    (void) sigaddset(&defaults, SIGPIPE);
    (void) sigaddset(&defaults, SIGTERM);
    (void) sigaddset(&defaults, SIGINT);
    (void) sigaddset(&defaults, SIGHUP);
    (void) sigaddset(&defaults, SIGUSR1);

    (void) posix_spawn_file_actions_init(&actions);
    (void) posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    (void) posix_spawn_file_actions_adddup2(&actions, outFd, STDOUT_FILENO);
    (void) posix_spawn_file_actions_addclose(&actions, readFd);
    (void) posix_spawnattr_init(&attributes);
    (void) posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                     POSIX_SPAWN_SETSIGDEF);
    (void) posix_spawnattr_setpgroup(&attributes, 0);
    (void) posix_spawnattr_setsigmask(&attributes, &empty);
    (void) posix_spawnattr_setsigdefault(&attributes, &defaults);
    rc = posix_spawn(pPid, "/bin/sh", &actions, &attributes, arguments, environ);
    (void) posix_spawnattr_destroy(&attributes);
    (void) posix_spawn_file_actions_destroy(&actions);

    return rc;
}

/**
 * @brief Waits for the child until `deadline`; kills its group after that.
 * @param[in] pid Child.
 * @param[in] deadline Monotonic ms.
 * @param[out] pStatus waitpid status.
 * @return true when it exited by itself before the deadline.
 */
static bool reap(pid_t pid, uint64_t deadline, int *pStatus)
{
    bool exited = false;
    struct timespec pause = {0, 2000000L};
    pid_t result;

    for (;;)
    {
        result = waitpid(pid, pStatus, WNOHANG);
        if ((result == pid) || ((result < 0) && (errno != EINTR)))
        {
            exited = (result == pid);
            break;
        }
        if (monotonicMs() >= deadline)
        {
            break;
        }
        (void) nanosleep(&pause, NULL);
    }
    if (!exited)
    {
        (void) kill(-pid, SIGKILL);
        while ((waitpid(pid, pStatus, 0) < 0) && (errno == EINTR))
        {
        }
    }

    return exited;
}

AgentCommandStatus_t AgentCommand_Run(const char *pCommand, uint32_t timeoutMs, char *pOutput,
                                      size_t outputSize, char *pDetail, size_t detailSize)
{
    AgentCommandStatus_t result = AGENT_COMMAND_SPAWN_FAILED;
    uint64_t deadline = monotonicMs() + timeoutMs;
    size_t length = 0U;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    int status = 0;
    int rc;
    bool eof = false;

    pOutput[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) != 0)
    {
        setText(pDetail, detailSize, "cannot create a pipe: %s", strerror(errno));
    }
    else if ((rc = spawnShell(pCommand, fds[1], fds[0], &pid)) != 0)
    {
        setText(pDetail, detailSize, "cannot start /bin/sh: %s", strerror(rc));
    }
    else
    {
        result = AGENT_COMMAND_OK;
    }
    if (fds[1] >= 0)
    {
        (void) close(fds[1]);
    }

    while ((result == AGENT_COMMAND_OK) && !eof)
    {
        uint64_t now = monotonicMs();
        struct pollfd item = {fds[0], POLLIN, 0};
        char scratch[1];
        ssize_t got;

        if (now >= deadline)
        {
            result = AGENT_COMMAND_TIMEOUT;
        }
        else if (poll(&item, 1, (int) (deadline - now)) > 0)
        {
            if (length < (outputSize - 1U))
            {
                got = read(fds[0], pOutput + length, outputSize - 1U - length);
            }
            else
            {
                got = read(fds[0], scratch, sizeof(scratch));
                if (got > 0)
                {
                    result = AGENT_COMMAND_TOO_LONG;
                }
            }
            if (got > 0)
            {
                length += (result == AGENT_COMMAND_OK) ? (size_t) got : 0U;
            }
            else if ((got == 0) || (errno != EINTR))
            {
                eof = true;
            }
            else
            {
                /* Interrupted: poll again. */
            }
        }
        else
        {
            /* Timeout or EINTR: the loop checks the deadline. */
        }
    }
    if (fds[0] >= 0)
    {
        (void) close(fds[0]);
    }
    pOutput[length] = '\0';

    if (pid > 0)
    {
        bool exited = (result == AGENT_COMMAND_OK) && reap(pid, deadline, &status);
        if (!exited && (result == AGENT_COMMAND_OK))
        {
            result = AGENT_COMMAND_TIMEOUT;
        }
        else if (!exited)
        {
            /* Kill the whole group before reaping: background children of the shell may
             * still hold the pipe (and the shell's pid, hence the group, stays reserved
             * until it is reaped). */
            (void) kill(-pid, SIGKILL);
            (void) reap(pid, 0U, &status);
        }
        else
        {
            /* Exited by itself. */
        }

        if (result == AGENT_COMMAND_TIMEOUT)
        {
            setText(pDetail, detailSize, "did not finish within %u ms (killed)",
                    (unsigned) timeoutMs);
        }
        else if (result == AGENT_COMMAND_TOO_LONG)
        {
            setText(pDetail, detailSize, "printed more than %zu bytes (killed)", outputSize - 1U);
        }
        else if (WIFEXITED(status) && (WEXITSTATUS(status) != 0))
        {
            result = AGENT_COMMAND_FAILED;
            setText(pDetail, detailSize, "exited with status %d", WEXITSTATUS(status));
        }
        else if (WIFSIGNALED(status))
        {
            result = AGENT_COMMAND_FAILED;
            setText(pDetail, detailSize, "was killed by signal %d", WTERMSIG(status));
        }
        else
        {
            /* Success. */
        }
    }

    return result;
}

/**
 * @brief Quotes the start of a token for a message.
 * @param[in] pToken Token.
 * @return Characters to print (at most 40).
 */
static int shown(const char *pToken)
{
    size_t length = strlen(pToken);
    return (int) ((length > 40U) ? 40U : length);
}

/**
 * @brief Checks a string-list entry: [A-Za-z0-9:_./-]+ (PD-12).
 * @param[in] pToken Entry.
 * @return true when it conforms.
 */
static bool stringConforms(const char *pToken)
{
    return (pToken[0] != '\0') &&
           (strspn(pToken, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_./-") ==
            strlen(pToken));
}

/**
 * @brief Parses one number token.
 * @param[in] pToken Token.
 * @param[out] pValue Value.
 * @return true for a finite decimal number.
 */
static bool parseDouble(const char *pToken, double *pValue)
{
    char *pEnd = NULL;
    bool ok = false;

    /* Decimal only: no hexadecimal floats, "inf" or "nan". */
    if (strspn(pToken, "0123456789+-.eE") == strlen(pToken))
    {
        errno = 0;
        *pValue = strtod(pToken, &pEnd);
        ok = (pEnd != pToken) && (*pEnd == '\0') && (errno == 0) && isfinite(*pValue);
    }

    return ok;
}

bool AgentCommand_Parse(AgentCommandMetric_t *pMetric, DefenderCustomValue_t *pValue, char *pError,
                        size_t errorSize)
{
    const char *pSeparators =
        (pMetric->type == DEFENDER_CUSTOM_NUMBER_LIST) ? " \t\r\n\v\f," : " \t\r\n\v\f";
    char *pSave = NULL;
    char *pToken;
    size_t count = 0U;
    size_t length = strlen(pMetric->output);
    bool ok = true;
    size_t i;

    (void) memset(pValue, 0, sizeof(*pValue));
    for (i = 0U; i < length; i++)
    {
        unsigned char c = (unsigned char) pMetric->output[i];
        if (((c < 0x20U) && (strchr(" \t\r\n\v\f", (int) c) == NULL)) || (c == 0x7FU))
        {
            setText(pError, errorSize, "output is not text (byte 0x%02x at offset %zu)",
                    (unsigned) c, i);
            ok = false;
            break;
        }
    }

    for (pToken = ok ? strtok_r(pMetric->output, pSeparators, &pSave) : NULL;
         ok && (pToken != NULL); pToken = strtok_r(NULL, pSeparators, &pSave))
    {
        double number = 0.0;

        if ((pMetric->type == DEFENDER_CUSTOM_NUMBER) ||
            (pMetric->type == DEFENDER_CUSTOM_NUMBER_LIST))
        {
            if (!parseDouble(pToken, &number))
            {
                setText(pError, errorSize, "'%.*s' is not a finite decimal number", shown(pToken),
                        pToken);
                ok = false;
            }
            else if ((pMetric->type == DEFENDER_CUSTOM_NUMBER) && (count > 0U))
            {
                setText(pError, errorSize, "expected one number, got more ('%.*s')", shown(pToken),
                        pToken);
                ok = false;
            }
            else
            {
                pValue->number = number;
                pMetric->values.numbers[count] = number;
            }
        }
        else if (pMetric->type == DEFENDER_CUSTOM_STRING_LIST)
        {
            ok = stringConforms(pToken);
            if (!ok)
            {
                setText(pError, errorSize, "entry '%.*s' has characters outside [A-Za-z0-9:_./-]",
                        shown(pToken), pToken);
            }
            pMetric->values.strings[count] = pToken;
        }
        else
        {
            DefenderIpAddress_t address;
            ok = Defender_ParseIpAddress(pToken, strlen(pToken), &address);
            if (!ok)
            {
                setText(pError, errorSize, "entry '%.*s' is not an IPv4 or IPv6 address",
                        shown(pToken), pToken);
            }
            pMetric->values.strings[count] = pToken;
        }
        count++;
        if (ok && (count >= AGENT_COMMAND_MAX_ENTRIES) && (pSave != NULL) && (*pSave != '\0'))
        {
            setText(pError, errorSize, "more than %u entries",
                    (unsigned) AGENT_COMMAND_MAX_ENTRIES);
            ok = false;
        }
    }

    if (ok && (pMetric->type == DEFENDER_CUSTOM_NUMBER) && (count == 0U))
    {
        setText(pError, errorSize, "no number in the output");
        ok = false;
    }
    if (ok)
    {
        pValue->count = (pMetric->type == DEFENDER_CUSTOM_NUMBER) ? 0U : count;
        pValue->pNumbers = pMetric->values.numbers;
        if ((pMetric->type == DEFENDER_CUSTOM_STRING_LIST) ||
            (pMetric->type == DEFENDER_CUSTOM_IP_LIST))
        {
            pValue->pNumbers = NULL;
            pValue->ppStrings = pMetric->values.strings;
        }
        else if (pMetric->type == DEFENDER_CUSTOM_NUMBER)
        {
            pValue->pNumbers = NULL;
        }
        else
        {
            /* number-list. */
        }
    }

    return ok;
}

bool AgentCommand_Read(void *pUserContext, DefenderCustomValue_t *pValue)
{
    AgentCommandMetric_t *pMetric = (AgentCommandMetric_t *) pUserContext;
    char detail[256];
    AgentCommandStatus_t status;
    bool ok = false;

    status = AgentCommand_Run(pMetric->pCommand, pMetric->timeoutMs, pMetric->output,
                              sizeof(pMetric->output), detail, sizeof(detail));
    if (status != AGENT_COMMAND_OK)
    {
        Agent_Log(DEFENDER_LOG_WARN,
                  "custom metric '%s': command %s; metric left out of this report", pMetric->pName,
                  detail);
    }
    else if (!AgentCommand_Parse(pMetric, pValue, detail, sizeof(detail)))
    {
        Agent_Log(DEFENDER_LOG_WARN,
                  "custom metric '%s': output is not a valid %s: %s; metric left out of this "
                  "report",
                  pMetric->pName, AgentOptions_TypeName(pMetric->type), detail);
    }
    else
    {
        Agent_Log(DEFENDER_LOG_DEBUG, "custom metric '%s': read", pMetric->pName);
        ok = true;
    }

    return ok;
}
