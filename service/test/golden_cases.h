/* Golden reports for every validation rule (protocol 11.6 and section 8), shared by the
 * unit test (validator only) and the integration test (through MQTT). Payloads use long
 * keys; variants with short keys and CBOR are derived unless a flag says otherwise. */
#ifndef DETECT_GOLDEN_CASES_H
#define DETECT_GOLDEN_CASES_H

enum
{
    G_OK = 1,   /* ACCEPTED, reportId echoed */
    G_REJ,      /* REJECTED InvalidPayload with reportId */
    G_REJ_NOID, /* REJECTED InvalidPayload without reportId */
};

#define G_JSON_ONLY 1 /* not representable in CBOR */
#define G_LONG_ONLY 2 /* key style is part of the case */

typedef struct
{
    const char *name;
    const char *json;
    int flags;
    int def;    /* expectation in default mode */
    int strict; /* expectation in strict mode */
} golden_case;

#define H "\"header\":{\"report_id\":12,\"version\":\"1.0\"}"

static const golden_case golden_cases[] = {
    /* 11.6 decision table */
    {"custom number without array", "{" H ",\"custom_metrics\":{\"m\":{\"number\":0}}}", 0, G_REJ,
     G_REJ},
    {"no header", "{\"metrics\":{}}", 0, G_REJ_NOID, G_REJ_NOID},
    {"report_id as string",
     "{\"header\":{\"report_id\":\"12\",\"version\":\"1.0\"},\"metrics\":{}}", 0, G_REJ_NOID,
     G_REJ_NOID},
    {"not json", "not json", G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"no body", "{" H "}", 0, G_REJ, G_REJ},
    {"listening port 0", "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":0}]}}}",
     0, G_REJ, G_REJ},
    {"port-less listening entry",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"interface\":\"eth0\"}]}}}", 0,
     G_OK, G_REJ},
    {"bare IPv6 remote_addr",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"2001:db8::1:443\"}]}}}}",
     0, G_OK, G_REJ},
    {"remote_addr without port",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"198.51.100.7\"}]}}}}",
     0, G_REJ, G_REJ},
    {"connection without remote_addr",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"local_port\":80}]}}}}",
     0, G_REJ, G_REJ},
    {"mixed key styles", "{\"hed\":{\"report_id\":12,\"v\":\"1.0\"},\"met\":{}}", G_LONG_ONLY, G_OK,
     G_REJ},
    {"header and hed", "{" H ",\"hed\":{\"rid\":12,\"v\":\"1.0\"},\"metrics\":{}}", G_LONG_ONLY,
     G_REJ_NOID, G_REJ_NOID},
    {"version 2.1", "{\"header\":{\"report_id\":12,\"version\":\"2.1\"},\"metrics\":{}}", 0, G_OK,
     G_REJ},
    {"unknown key in metrics", "{" H ",\"metrics\":{\"cpu\":{}}}", 0, G_OK, G_REJ},
    {"negative bytes_in", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":-1}}}", 0, G_REJ,
     G_REJ},
    {"aws: custom name", "{" H ",\"custom_metrics\":{\"aws:x\":[{\"number\":1}]}}", 0, G_REJ,
     G_REJ},
    {"two maps in custom array",
     "{" H ",\"custom_metrics\":{\"m\":[{\"number\":1},{\"number\":2}]}}", 0, G_REJ, G_REJ},
    {"nonconforming string_list",
     "{" H ",\"custom_metrics\":{\"m\":[{\"string_list\":[\"a b\"]}]}}", 0, G_OK, G_OK},
    /* spec examples */
    {"full report 11.1",
     "{\"header\":{\"report_id\":12,\"version\":\"1.0\"},\"metrics\":{\"listening_tcp_ports\":{"
     "\"ports\":[{\"interface\":\"eth0\",\"port\":22},{\"interface\":\"eth0\",\"port\":8883}],"
     "\"total\":2},\"listening_udp_ports\":{\"ports\":[{\"interface\":\"eth0\",\"port\":5353}],"
     "\"total\":1},\"network_stats\":{\"bytes_in\":5000000000,\"bytes_out\":81234,\"packets_in\":"
     "3402,\"packets_out\":1210},\"tcp_connections\":{\"established_connections\":{\"connections\":"
     "[{\"local_interface\":\"eth0\",\"local_port\":49822,\"remote_addr\":\"198.51.100.7:8883\"},{"
     "\"local_interface\":\"wlan0\",\"local_port\":22,\"remote_addr\":\"[2001:db8::17]:50122\"}],"
     "\"total\":3}}},\"custom_metrics\":{\"rssi_dbm\":[{\"number\":-67}],\"cpu_load\":[{\"number_"
     "list\":[12,7.5,3]}],\"task_names\":[{\"string_list\":[\"net\",\"app/"
     "main\"]}],\"dns_servers\":[{\"ip_list\":[\"192.0.2.53\",\"2001:db8::53\"]}]}}",
     0, G_OK, G_OK},
    {"minimal", "{" H ",\"metrics\":{}}", 0, G_OK, G_OK},
    {"custom metrics only", "{" H ",\"custom_metrics\":{\"rssi_dbm\":[{\"number\":-71.5}]}}", 0,
     G_OK, G_OK},
    /* header rules */
    {"report_id 0", "{\"header\":{\"report_id\":0,\"version\":\"1.0\"},\"metrics\":{}}", 0,
     G_REJ_NOID, G_REJ_NOID},
    {"report_id 2^63",
     "{\"header\":{\"report_id\":9223372036854775808,\"version\":\"1.0\"},\"metrics\":{}}", 0,
     G_REJ_NOID, G_REJ_NOID},
    {"report_id 2^63-1",
     "{\"header\":{\"report_id\":9223372036854775807,\"version\":\"1.0\"},\"metrics\":{}}", 0, G_OK,
     G_OK},
    {"report_id 2^64+",
     "{\"header\":{\"report_id\":99999999999999999999999,\"version\":\"1.0\"},\"metrics\":{}}", 0,
     G_REJ_NOID, G_REJ_NOID},
    {"report_id integral float",
     "{\"header\":{\"report_id\":12.0,\"version\":\"1.0\"},\"metrics\":{}}", 0, G_OK, G_REJ_NOID},
    /* PD-4 is about the value the JSON text denotes, not its nearest double */
    {"report_id 12.0000000000000001",
     "{\"header\":{\"report_id\":12.0000000000000001,\"version\":\"1.0\"},\"metrics\":{}}",
     G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"report_id 1.2e1", "{\"header\":{\"report_id\":1.2e1,\"version\":\"1.0\"},\"metrics\":{}}",
     G_JSON_ONLY, G_OK, G_REJ_NOID},
    {"report_id fraction", "{\"header\":{\"report_id\":12.5,\"version\":\"1.0\"},\"metrics\":{}}",
     0, G_REJ_NOID, G_REJ_NOID},
    {"version 1", "{\"header\":{\"report_id\":12,\"version\":\"1\"},\"metrics\":{}}", 0, G_REJ,
     G_REJ},
    {"version number", "{\"header\":{\"report_id\":12,\"version\":1.0},\"metrics\":{}}", 0, G_REJ,
     G_REJ},
    {"no version", "{\"header\":{\"report_id\":12},\"metrics\":{}}", 0, G_REJ, G_REJ},
    {"header not a map", "{\"header\":[12],\"metrics\":{}}", 0, G_REJ_NOID, G_REJ_NOID},
    {"duplicate report_id key",
     "{\"header\":{\"report_id\":12,\"report_id\":13,\"version\":\"1.0\"},\"metrics\":{}}", 0,
     G_REJ_NOID, G_REJ_NOID},
    {"report_id and rid",
     "{\"header\":{\"report_id\":12,\"rid\":12,\"version\":\"1.0\"},\"metrics\":{}}", G_LONG_ONLY,
     G_REJ_NOID, G_REJ_NOID},
    {"port and pt behind a bad version",
     "{\"header\":{\"report_id\":12,\"version\":\"x\"},\"metrics\":{\"listening_tcp_ports\":{"
     "\"ports\":[{\"port\":22,\"pt\":22}]}}}",
     G_LONG_ONLY, G_REJ, G_REJ},
    /* root and body */
    {"root is an array", "[{\"header\":{\"report_id\":12,\"version\":\"1.0\"}}]", 0, G_REJ_NOID,
     G_REJ_NOID},
    {"unknown root key", "{" H ",\"metrics\":{},\"extra\":1}", 0, G_OK, G_REJ},
    {"metrics not a map", "{" H ",\"metrics\":[]}", 0, G_REJ, G_REJ},
    {"custom_metrics not a map", "{" H ",\"custom_metrics\":1}", 0, G_REJ, G_REJ},
    {"duplicate metrics key", "{" H ",\"metrics\":{},\"metrics\":{}}", 0, G_REJ, G_REJ},
    /* standard metrics */
    {"port 65536", "{" H ",\"metrics\":{\"listening_udp_ports\":{\"ports\":[{\"port\":65536}]}}}",
     0, G_REJ, G_REJ},
    {"port integral float",
     "{" H ",\"metrics\":{\"listening_udp_ports\":{\"ports\":[{\"port\":22.0}]}}}", 0, G_OK, G_REJ},
    {"port 22.0000000000000001",
     "{" H ",\"metrics\":{\"listening_udp_ports\":{\"ports\":[{\"port\":22.0000000000000001}]}}}",
     G_JSON_ONLY, G_REJ, G_REJ},
    {"port 220e-1", "{" H ",\"metrics\":{\"listening_udp_ports\":{\"ports\":[{\"port\":220e-1}]}}}",
     G_JSON_ONLY, G_OK, G_REJ},
    {"bytes_in 1e-400", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":1e-400}}}",
     G_JSON_ONLY, G_REJ, G_REJ},
    {"bytes_in 0.5e-999999999999",
     "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":0.5e-999999999999}}}", G_JSON_ONLY, G_REJ,
     G_REJ},
    {"bytes_in 0.0e999999999999",
     "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":0.0e999999999999}}}", G_JSON_ONLY, G_OK,
     G_REJ},
    {"bytes_in 2^53+1 with a fraction",
     "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":9007199254740993.0}}}", G_JSON_ONLY,
     G_REJ, G_REJ},
    {"bytes_in 2^53 with an exponent",
     "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":90071992547409.92e2}}}", G_JSON_ONLY,
     G_OK, G_REJ},
    {"bytes_in 1e19", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":1e19}}}", G_JSON_ONLY,
     G_REJ, G_REJ},
    {"bytes_in -0.0", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":-0.0}}}", G_JSON_ONLY,
     G_OK, G_REJ},
    {"port as string",
     "{" H ",\"metrics\":{\"listening_udp_ports\":{\"ports\":[{\"port\":\"22\"}]}}}", 0, G_REJ,
     G_REJ},
    {"ports list element not a map",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[22]}}}", 0, G_REJ, G_REJ},
    {"interface not a string",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":22,\"interface\":1}]}}}", 0,
     G_REJ, G_REJ},
    {"total below list length",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":22},{\"port\":23}],"
     "\"total\":1}}}",
     0, G_OK, G_REJ},
    {"bytes_out huge exponent", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_out\":1e400}}}", 0,
     G_REJ, G_REJ},
    {"bytes_in above 2^63-1",
     "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":9223372036854775808}}}", 0, G_REJ, G_REJ},
    {"bytes_in boolean", "{" H ",\"metrics\":{\"network_stats\":{\"bytes_in\":true}}}", 0, G_REJ,
     G_REJ},
    {"network_stats null", "{" H ",\"metrics\":{\"network_stats\":null}}", 0, G_REJ, G_REJ},
    {"IPv4 with leading zero",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"198.051.100.7:1\"}]}}}}",
     0, G_REJ, G_REJ},
    {"port 65536 in remote_addr",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"198.51.100.7:65536\"}]}}}}",
     0, G_REJ, G_REJ},
    {"IPv6 zone id",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"[fe80::1%eth0]:22\"}]}}}}",
     0, G_REJ, G_REJ},
    {"IPv4-mapped bracketed",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"[::ffff:192.0.2.1]:22\"}]}}}}",
     0, G_OK, G_OK},
    {"local_port 65536",
     "{" H ",\"metrics\":{\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
     "\"remote_addr\":\"192.0.2.1:22\",\"local_port\":65536}]}}}}",
     0, G_REJ, G_REJ},
    {"pts under tcp_connections", "{" H ",\"metrics\":{\"tcp_connections\":{\"ports\":[]}}}", 0,
     G_OK, G_REJ},
    {"empty lists and totals",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[],\"total\":0},\"tcp_connections\":{"
     "\"established_connections\":{\"total\":0}}}}",
     0, G_OK, G_OK},
    /* custom metrics */
    {"custom number_list with string",
     "{" H ",\"custom_metrics\":{\"m\":[{\"number_list\":[1,\"2\"]}]}}", 0, G_REJ, G_REJ},
    {"custom two value keys",
     "{" H ",\"custom_metrics\":{\"m\":[{\"number\":1,\"number_list\":[1]}]}}", 0, G_REJ, G_REJ},
    {"custom no value key", "{" H ",\"custom_metrics\":{\"m\":[{}]}}", 0, G_REJ, G_REJ},
    {"custom extra key", "{" H ",\"custom_metrics\":{\"m\":[{\"number\":1,\"unit\":\"dBm\"}]}}", 0,
     G_OK, G_REJ},
    {"custom name 129 chars",
     "{" H ",\"custom_metrics\":{"
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":[{\"number\":1}]}}",
     0, G_REJ, G_REJ},
    {"custom name with space", "{" H ",\"custom_metrics\":{\"a b\":[{\"number\":1}]}}", 0, G_REJ,
     G_REJ},
    {"custom ip_list bad entry",
     "{" H ",\"custom_metrics\":{\"m\":[{\"ip_list\":[\"300.1.1.1\"]}]}}", 0, G_OK, G_OK},
    {"custom number 16 digits",
     "{" H ",\"custom_metrics\":{\"m\":[{\"number\":1234567890123456.7}]}}", 0, G_OK, G_OK},
    {"custom empty lists",
     "{" H ",\"custom_metrics\":{\"a\":[{\"number_list\":[]}],\"b\":[{\"ip_list\":[]}]}}", 0, G_OK,
     G_OK},
    {"custom string_list not array", "{" H ",\"custom_metrics\":{\"m\":[{\"string_list\":\"x\"}]}}",
     0, G_REJ, G_REJ},
    /* JSON text */
    {"invalid UTF-8",
     "{" H
     ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":22,\"interface\":\"\xff\"}]}}}",
     G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"lone surrogate",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":22,\"interface\":"
     "\"\\ud800\"}]}}}",
     G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"escaped interface",
     "{" H ",\"metrics\":{\"listening_tcp_ports\":{\"ports\":[{\"port\":22,\"interface\":"
     "\"e\\u0074h\\/0\"}]}}}",
     G_JSON_ONLY, G_OK, G_OK},
    {"trailing comma", "{" H ",\"metrics\":{},}", G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"trailing garbage", "{" H ",\"metrics\":{}}x", G_JSON_ONLY, G_REJ_NOID, G_REJ_NOID},
    {"whitespace",
     " {\n\"header\" : {\"report_id\":12 ,\"version\":\"1.0\"},\t\"metrics\":{} }\r\n",
     G_JSON_ONLY | G_LONG_ONLY, G_OK, G_OK},
    {"nesting 17 deep", "{" H ",\"metrics\":{\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}}", 0,
     G_REJ_NOID, G_REJ_NOID},
    {"nesting 16 deep", "{" H ",\"metrics\":{\"x\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]}}", 0, G_OK,
     G_REJ},
};

#define GOLDEN_COUNT (sizeof golden_cases / sizeof golden_cases[0])

#endif
