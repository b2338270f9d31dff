/**
 * @file report_examples.c
 * @brief The protocol spec's worked report examples (11.1, 11.2), its responses (11.4 R1-R4)
 * and CBOR test vectors (11.5 V1, V2, V4; responses V5-V7), shared by the encoder and
 * response parser tests and the Cortex-M4 self-test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "report_examples.h"

/* ---- The worked example of 11.1 / 11.2 ---------------------------------------------- */

const char example11_1[] =
    "{\"header\":{\"report_id\":1735689600000,\"version\":\"1.0\"},\"metrics\":{\"listening_tcp_"
    "ports\":{\"ports\":[{\"interface\":\"eth0\",\"port\":22},{\"interface\":\"eth0\",\"port\":"
    "8883}],\"total\":2},\"listening_udp_ports\":{\"ports\":[{\"interface\":\"eth0\",\"port\":"
    "5353}],\"total\":1},\"network_stats\":{\"bytes_in\":5000000000,\"bytes_out\":81234,"
    "\"packets_in\":3402,\"packets_out\":1210},\"tcp_connections\":{\"established_connections\":"
    "{\"connections\":[{\"local_interface\":\"eth0\",\"local_port\":49822,\"remote_addr\":"
    "\"198.51.100.7:8883\"},{\"local_interface\":\"wlan0\",\"local_port\":22,\"remote_addr\":"
    "\"[2001:db8::17]:50122\"}],\"total\":3}}},\"custom_metrics\":{\"rssi_dbm\":[{\"number\":-"
    "67}],\"cpu_load\":[{\"number_list\":[12,7.5,3]}],\"task_names\":[{\"string_list\":[\"net\","
    "\"app/main\"]}],\"dns_servers\":[{\"ip_list\":[\"192.0.2.53\",\"2001:db8::53\"]}]}}";

const char example11_2[] =
    "{\"hed\":{\"rid\":1735689600000,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"if\":\"eth0\","
    "\"pt\":22},{\"if\":\"eth0\",\"pt\":8883}],\"t\":2},\"up\":{\"pts\":[{\"if\":\"eth0\",\"pt\":"
    "5353}],\"t\":1},\"ns\":{\"bi\":5000000000,\"bo\":81234,\"pi\":3402,\"po\":1210},\"tc\":{"
    "\"ec\":{\"cs\":[{\"li\":\"eth0\",\"lp\":49822,\"rad\":\"198.51.100.7:8883\"},{\"li\":"
    "\"wlan0\",\"lp\":22,\"rad\":\"[2001:db8::17]:50122\"}],\"t\":3}}},\"cmet\":{\"rssi_dbm\":[{"
    "\"number\":-67}],\"cpu_load\":[{\"number_list\":[12,7.5,3]}],\"task_names\":[{\"string_"
    "list\":[\"net\",\"app/main\"]}],\"dns_servers\":[{\"ip_list\":[\"192.0.2.53\",\"2001:db8::"
    "53\"]}]}}";

const char vectorV1[] = "a263686564a2637269641b000001941f297c00617663312e30636d6574a16274"
                        "63a1626563a262637381a163726164713139382e35312e3130302e373a3838"
                        "3833617401";

const char jsonV1[] = "{\"hed\":{\"rid\":1735689600000,\"v\":\"1.0\"},\"met\":{\"tc\":{\"ec\":"
                      "{\"cs\":[{\"rad\":\"198.51.100.7:8883\"}],\"t\":1}}}}";

const char jsonV2[] =
    "{\"header\":{\"report_id\":1735689600000,\"version\":\"1.0\"},\"metrics\":{}}";

const char vectorV2[] = "a266686561646572a2697265706f72745f69641b000001941f297c00677665"
                        "7273696f6e63312e30676d657472696373a0";

const char vectorV4[] = "a363686564a2637269641b000001941f297c00617663312e30636d6574a46274"
                        "70a26370747382a2626966646574683062707416a26269666465746830627074"
                        "1922b3617402627570a26370747381a262696664657468306270741914e96174"
                        "01626e73a46262691b000000012a05f20062626f1a00013d52627069190d4a62"
                        "706f1904ba627463a1626563a262637382a3626c696465746830626c7019c29e"
                        "63726164713139382e35312e3130302e373a38383833a3626c6965776c616e30"
                        "626c701663726164745b323030313a6462383a3a31375d3a3530313232617403"
                        "64636d6574a468727373695f64626d81a1666e756d6265723842686370755f6c"
                        "6f616481a16b6e756d6265725f6c697374830cfb401e000000000000036a7461"
                        "736b5f6e616d657381a16b737472696e675f6c69737482636e6574686170702f"
                        "6d61696e6b646e735f7365727665727381a16769705f6c697374826a3139322e"
                        "302e322e35336c323030313a6462383a3a3533";

/* ---- The responses of 11.4 and the CBOR response vectors of 11.5 ---------------------- */

const char exampleR1[] = "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":"
                         "\"ACCEPTED\",\"timestamp\":1735689600412}";
const char exampleR2[] =
    "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":\"REJECTED\","
    "\"statusDetails\":{\"ErrorCode\":\"InvalidPayload\",\"ErrorMessage\":\"Malformed metrics "
    "report\"},\"timestamp\":1735689600415}";
const char exampleR3[] =
    "{\"thingName\":\"sensor-42\",\"status\":\"REJECTED\",\"statusDetails\":{\"ErrorCode\":"
    "\"InvalidPayload\",\"ErrorMessage\":\"Malformed metrics report\"},\"timestamp\":"
    "1735689600415}";
const char exampleR4[] =
    "{\"thingName\":\"sensor-42\",\"reportId\":1735689600000,\"status\":\"REJECTED\","
    "\"statusDetails\":{\"ErrorCode\":\"Throttled\",\"ErrorMessage\":\"Metrics report rate "
    "exceeded\"},\"timestamp\":1735689600415}";

const char vectorV5[] =
    "a4697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c0066737461747573"
    "6841434345505445446974696d657374616d701b000001941f297d9c";
const char vectorV6[] =
    "a5697468696e674e616d656973656e736f722d3432687265706f727449641b000001941f297c0066737461747573"
    "6852454a45435445446d73746174757344657461696c73a2694572726f72436f6465695468726f74746c65646c45"
    "72726f724d657373616765781c4d657472696373207265706f727420726174652065786365656465646974696d65"
    "7374616d701b000001941f297d9f";
const char vectorV7[] =
    "a4697468696e674e616d656973656e736f722d3432667374617475736852454a45435445446d7374617475734465"
    "7461696c73a2694572726f72436f64656e496e76616c69645061796c6f61646c4572726f724d6573736167657818"
    "4d616c666f726d6564206d657472696373207265706f72746974696d657374616d701b000001941f297d9f";

DefenderListeningPort_t exTcp[2];
DefenderListeningPort_t exUdp[1];
DefenderConnection_t exConn[2];
static const double exCpu[] = {12.0, 7.5, 3.0};
static const char *const exTasks[] = {"net", "app/main"};
static const char *const exDns[] = {"192.0.2.53", "2001:db8::53"};
DefenderCustomMetricValue_t exCustom[4];

void SetAddress(DefenderIpAddress_t *pAddress, const char *pText)
{
    assert_true(Defender_ParseIpAddress(pText, strlen(pText), pAddress));
}

void FillExample(DefenderReportContent_t *pContent)
{
    memset(pContent, 0, sizeof(*pContent));
    memset(exTcp, 0, sizeof(exTcp));
    memset(exUdp, 0, sizeof(exUdp));
    memset(exConn, 0, sizeof(exConn));
    memset(exCustom, 0, sizeof(exCustom));
    strcpy(exTcp[0].interfaceName, "eth0");
    exTcp[0].port = 22;
    strcpy(exTcp[1].interfaceName, "eth0");
    exTcp[1].port = 8883;
    strcpy(exUdp[0].interfaceName, "eth0");
    exUdp[0].port = 5353;
    strcpy(exConn[0].localInterface, "eth0");
    exConn[0].localPort = 49822;
    SetAddress(&exConn[0].remoteAddress, "198.51.100.7");
    exConn[0].remotePort = 8883;
    strcpy(exConn[1].localInterface, "wlan0");
    exConn[1].localPort = 22;
    SetAddress(&exConn[1].remoteAddress, "2001:db8::17");
    exConn[1].remotePort = 50122;
    exCustom[0].pName = "rssi_dbm";
    exCustom[0].type = DEFENDER_CUSTOM_NUMBER;
    exCustom[0].value.number = -67.0;
    exCustom[1].pName = "cpu_load";
    exCustom[1].type = DEFENDER_CUSTOM_NUMBER_LIST;
    exCustom[1].value.pNumbers = exCpu;
    exCustom[1].value.count = 3;
    exCustom[2].pName = "task_names";
    exCustom[2].type = DEFENDER_CUSTOM_STRING_LIST;
    exCustom[2].value.ppStrings = exTasks;
    exCustom[2].value.count = 2;
    exCustom[3].pName = "dns_servers";
    exCustom[3].type = DEFENDER_CUSTOM_IP_LIST;
    exCustom[3].value.ppStrings = exDns;
    exCustom[3].value.count = 2;

    pContent->reportId = 1735689600000ULL;
    pContent->groups = DEFENDER_METRIC_ALL;
    pContent->tcpPorts.pEntries = exTcp;
    pContent->tcpPorts.count = 2;
    pContent->tcpPorts.total = 2;
    pContent->udpPorts.pEntries = exUdp;
    pContent->udpPorts.count = 1;
    pContent->udpPorts.total = 1;
    pContent->networkStats.bytesIn = 5000000000ULL;
    pContent->networkStats.bytesOut = 81234;
    pContent->networkStats.packetsIn = 3402;
    pContent->networkStats.packetsOut = 1210;
    pContent->connections.pEntries = exConn;
    pContent->connections.count = 2;
    pContent->connections.total = 3;
    pContent->pCustom = exCustom;
    pContent->customCount = 4;
}

size_t FromHex(const char *pHex, uint8_t *pOut)
{
    size_t n = strlen(pHex) / 2U;
    size_t i;
    unsigned int byte;

    for (i = 0; i < n; i++)
    {
        assert_int_equal(sscanf(&pHex[2U * i], "%2x", &byte), 1);
        pOut[i] = (uint8_t) byte;
    }
    return n;
}

void FillVectorV1(DefenderReportContent_t *pContent, DefenderConnection_t *pConnection)
{
    memset(pContent, 0, sizeof(*pContent));
    memset(pConnection, 0, sizeof(*pConnection));
    SetAddress(&pConnection->remoteAddress, "198.51.100.7");
    pConnection->remotePort = 8883;
    pContent->reportId = 1735689600000ULL;
    pContent->groups = DEFENDER_METRIC_TCP_CONNECTIONS;
    pContent->connections.pEntries = pConnection;
    pContent->connections.count = 1;
    pContent->connections.total = 1;
}

void AssertEncodesTo(const DefenderReportContent_t *pContent, DefenderFormat_t format,
                     DefenderKeyStyle_t keys, const char *pJson, const char *pCborHex)
{
    static uint8_t expected[4096];
    static uint8_t encoded[4096];
    size_t expectedLength;
    size_t length = 0U;
    size_t listed[3];

    if (format == DEFENDER_FORMAT_CBOR)
    {
        expectedLength = FromHex(pCborHex, expected);
    }
    else
    {
        expectedLength = strlen(pJson);
        memcpy(expected, pJson, expectedLength);
    }
    assert_int_equal(
        Defender_EncodeReport(pContent, format, keys, encoded, sizeof(encoded), &length, listed),
        DEFENDER_SUCCESS);
    assert_int_equal(length, expectedLength);
    assert_memory_equal(encoded, expected, length);
}
