#define _POSIX_C_SOURCE 200809L
/**
 * @file main.c
 * @brief Runs the seed's MyDefenderInit() on Linux and prints what became of the
 * first report. Configure with DEFENDER_ENDPOINT and DEFENDER_THING_NAME (and
 * DEFENDER_CA_FILE / DEFENDER_CERT_FILE / DEFENDER_KEY_FILE for mutual TLS).
 *
 * Build against an installed library:
 *     cc main.c my_defender_init.c $(pkg-config --cflags --libs defender) -o seed-example
 */
#include <stdio.h>
#include <time.h>

#include <defender.h>

void MyDefenderInit(void);

int main(void)
{
    DefenderReportInfo_t info;
    struct timespec pause = {0, 100000000L};
    int i;
    int exitCode = 1;

    MyDefenderInit();
    if (DEFENDER_ReportStatusGet() == eDefenderRepInit)
    {
        /* Wait up to 15 s for the first report's outcome. */
        for (i = 0; (i < 150) && ((DEFENDER_ReportStatusGet() == eDefenderRepInit) ||
                                  (DEFENDER_ReportStatusGet() == eDefenderRepNoAck));
             i++)
        {
            (void) nanosleep(&pause, NULL);
        }
    }
    (void) DEFENDER_LastReportGet(&info);
    if ((info.status == eDefenderRepNotSent) || (info.status == eDefenderRepInit))
    {
        /* No report went out: there is no id the service knows. */
        printf("no report sent: %s", DEFENDER_ReportStatusAsString(info.status));
    }
    else
    {
        printf("report %llu (%zu bytes): %s", (unsigned long long) info.reportId, info.size,
               DEFENDER_ReportStatusAsString(info.status));
    }
    if (info.status == eDefenderRepRejected)
    {
        printf(" (%s: %s)", info.errorCode, info.errorMessage);
    }
    printf("\n");
    exitCode = (info.status == eDefenderRepSuccess) ? 0 : 2;
    if (DEFENDER_Stop() != eDefenderErrSuccess)
    {
        printf("the agent was not running: see the messages above\n");
        exitCode = 1;
    }
    return exitCode;
}
