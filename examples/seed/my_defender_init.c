/*
 * The seed document's example, unchanged: "Using Device Defender in Your Embedded
 * Application". Compiled as is by the examples and the integration tests.
 */
#include <defender.h>

void MyDefenderInit(void);

void MyDefenderInit(void)
{
	// Specify metrics to send to Device Defender
    defender_metric_t metrics_list[] = {
        DEFENDER_tcp_connections
    };
    ( void ) DEFENDER_MetricsInit( metrics_list );
 
 	// Set the reporting interval
 	// You can use a shorter period to trigger the violation faster, however 
 	// the Device Defender service is not guaranteed to accept reports faster 
 	// than every 300 seconds (5 minutes) per device.
    int report_period_sec = 300;
    ( void ) DEFENDER_ReportPeriodSet( report_period_sec );
 
 	// Start the Device Defender agent
    DEFENDER_Start();
}
