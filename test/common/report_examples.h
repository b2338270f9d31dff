/**
 * @file report_examples.h
 * @brief The protocol spec's worked report examples (11.1, 11.2), its responses (11.4 R1-R4)
 * and CBOR test vectors (11.5 V1, V2, V4; responses V5-V7), shared by the encoder and
 * response parser tests and the Cortex-M4 self-test.
 */
#ifndef REPORT_EXAMPLES_H
#define REPORT_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "defender_report.h"

/** @brief 11.1: the full report, long keys, JSON (776 bytes). */
extern const char example11_1[];
/** @brief 11.2: the same report, short keys, JSON (528 bytes). */
extern const char example11_2[];
/** @brief 11.5 V1: short-key report with one connection, CBOR, in hex (68 bytes). */
extern const char vectorV1[];
/** @brief V1 as JSON (short keys). */
extern const char jsonV1[];
/** @brief V2 as JSON (long keys; 11.3's minimal report with the id of V1). */
extern const char jsonV2[];
/** @brief 11.5 V2: long-key minimal report, CBOR, in hex (49 bytes). */
extern const char vectorV2[];
/** @brief 11.5 V4: the report of 11.2 in CBOR, in hex (371 bytes). */
extern const char vectorV4[];

/** @brief 11.4 R1: ACCEPTED (JSON, 96 bytes). */
extern const char exampleR1[];
/** @brief 11.4 R2: REJECTED InvalidPayload with reportId (185 bytes). */
extern const char exampleR2[];
/** @brief 11.4 R3: REJECTED InvalidPayload without reportId (160 bytes). */
extern const char exampleR3[];
/** @brief 11.4 R4: REJECTED Throttled (184 bytes). */
extern const char exampleR4[];
/** @brief 11.5 V5: R1 in CBOR, in hex (74 bytes). */
extern const char vectorV5[];
/** @brief 11.5 V6: REJECTED Throttled in CBOR, in hex (152 bytes). */
extern const char vectorV6[];
/** @brief 11.5 V7: REJECTED InvalidPayload without reportId in CBOR, in hex (135 bytes). */
extern const char vectorV7[];

/** @brief The lists and custom metrics FillExample points the content at (tests alter
 * them to make the content invalid). */
extern DefenderListeningPort_t exTcp[2];
extern DefenderListeningPort_t exUdp[1];
extern DefenderConnection_t exConn[2];
extern DefenderCustomMetricValue_t exCustom[4];

/** @brief Parses an address text (the test fails when it is invalid). */
void SetAddress(DefenderIpAddress_t *pAddress, const char *pText);

/** @brief Fills the content of the report of 11.1 (static storage; one at a time). */
void FillExample(DefenderReportContent_t *pContent);

/** @brief Fills the content of V1 (one connection to 198.51.100.7:8883, total 1). */
void FillVectorV1(DefenderReportContent_t *pContent, DefenderConnection_t *pConnection);

/** @brief Encodes the content in one format and asserts the bytes: the JSON text, or the
 * CBOR given in hex. */
void AssertEncodesTo(const DefenderReportContent_t *pContent, DefenderFormat_t format,
                     DefenderKeyStyle_t keys, const char *pJson, const char *pCborHex);

/** @brief Decodes hex into pOut; returns the byte count. */
size_t FromHex(const char *pHex, uint8_t *pOut);

#endif /* REPORT_EXAMPLES_H */
