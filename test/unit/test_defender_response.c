/**
 * @file test_defender_response.c
 * @brief Unit tests of Defender_ParseResponse (protocol spec section 5, 11.4, 11.5),
 * with a cross-check against cJSON and libcbor on generated inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_scale.h"

#include <cbor.h>
#include <cjson/cJSON.h>

#include "defender_protocol.h"
#include "report_examples.h"

/* ------------------------------------------------------------------------- */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------- */

/** @brief Parses a JSON text (without its terminator). */
static DefenderStatus_t parseJson(const char *pText, DefenderResponse_t *pResponse)
{
    return Defender_ParseResponse(DEFENDER_FORMAT_JSON, (const uint8_t *) pText, strlen(pText),
                                  pResponse);
}

/** @brief Parses a JSON text and returns only the status. */
static DefenderStatus_t jsonStatus(const char *pText)
{
    DefenderResponse_t response;

    return parseJson(pText, &response);
}

/** @brief Converts hex (spaces allowed) to bytes; returns the count. */
static size_t fromHex(const char *pHex, uint8_t *pOut, size_t outSize)
{
    size_t count = 0U;
    unsigned int byte;

    while (*pHex != '\0')
    {
        if (*pHex == ' ')
        {
            pHex++;
            continue;
        }
        assert_true(sscanf(pHex, "%2x", &byte) == 1);
        assert_true(count < outSize);
        pOut[count++] = (uint8_t) byte;
        pHex += 2;
    }

    return count;
}

/** @brief Parses CBOR given in hex. */
static DefenderStatus_t parseCborHex(const char *pHex, DefenderResponse_t *pResponse)
{
    uint8_t bytes[1024];
    size_t length = fromHex(pHex, bytes, sizeof(bytes));

    return Defender_ParseResponse(DEFENDER_FORMAT_CBOR, bytes, length, pResponse);
}

/** @brief Status of CBOR given in hex. */
static DefenderStatus_t cborStatus(const char *pHex)
{
    DefenderResponse_t response;

    return parseCborHex(pHex, &response);
}

/* ------------------------------------------------------------------------- */
/* Spec examples                                                              */
/* ------------------------------------------------------------------------- */

static void test_Defender_ParseResponse_SpecR1(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(strlen(exampleR1), 96);
    assert_int_equal(parseJson(exampleR1, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_ACCEPTED);
    assert_true(r.hasThingName);
    assert_false(r.thingNameTruncated);
    assert_string_equal(r.thingName, "sensor-42");
    assert_true(r.hasReportId);
    assert_true(r.reportId == 1735689600000ULL);
    assert_true(r.hasTimestamp);
    assert_true(r.timestamp == 1735689600412ULL);
    assert_string_equal(r.errorCode, "");
    assert_string_equal(r.errorMessage, "");
}

static void test_Defender_ParseResponse_SpecR2R3R4(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(strlen(exampleR2), 185);
    assert_int_equal(parseJson(exampleR2, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_true(r.hasReportId && (r.reportId == 1735689600000ULL));
    assert_string_equal(r.errorCode, "InvalidPayload");
    assert_string_equal(r.errorMessage, "Malformed metrics report");
    assert_true(r.timestamp == 1735689600415ULL);

    assert_int_equal(strlen(exampleR3), 160);
    assert_int_equal(parseJson(exampleR3, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_false(r.hasReportId);
    assert_string_equal(r.thingName, "sensor-42");
    assert_string_equal(r.errorCode, "InvalidPayload");

    assert_int_equal(strlen(exampleR4), 184);
    assert_int_equal(parseJson(exampleR4, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_string_equal(r.errorCode, DEFENDER_ERROR_CODE_THROTTLED);
    assert_string_equal(r.errorMessage, "Metrics report rate exceeded");
}

static void test_Defender_ParseResponse_SpecCborV5V6V7(void **state)
{
    DefenderResponse_t r;
    uint8_t bytes[256];

    (void) state;
    assert_int_equal(fromHex(vectorV5, bytes, sizeof(bytes)), 74);
    assert_int_equal(parseCborHex(vectorV5, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_ACCEPTED);
    assert_string_equal(r.thingName, "sensor-42");
    assert_true(r.hasReportId && (r.reportId == 1735689600000ULL));
    assert_true(r.hasTimestamp && (r.timestamp == 1735689600412ULL));

    assert_int_equal(fromHex(vectorV6, bytes, sizeof(bytes)), 152);
    assert_int_equal(parseCborHex(vectorV6, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_string_equal(r.errorCode, "Throttled");
    assert_string_equal(r.errorMessage, "Metrics report rate exceeded");
    assert_true(r.timestamp == 1735689600415ULL);

    assert_int_equal(fromHex(vectorV7, bytes, sizeof(bytes)), 135);
    assert_int_equal(parseCborHex(vectorV7, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_false(r.hasReportId);
    assert_string_equal(r.errorCode, "InvalidPayload");
    assert_string_equal(r.errorMessage, "Malformed metrics report");
}

/** Every strict prefix of a valid response is malformed; so is any extra byte. */
static void test_Defender_ParseResponse_EveryPrefixMalformed(void **state)
{
    const char *texts[] = {exampleR1, exampleR2, exampleR3, exampleR4};
    const char *hexes[] = {vectorV5, vectorV6, vectorV7};
    DefenderResponse_t r;
    uint8_t bytes[300];
    size_t i;
    size_t n;

    (void) state;
    for (i = 0U; i < 4U; i++)
    {
        size_t length = strlen(texts[i]);

        for (n = 0U; n < length; n++)
        {
            assert_int_equal(
                Defender_ParseResponse(DEFENDER_FORMAT_JSON, (const uint8_t *) texts[i], n, &r),
                DEFENDER_MALFORMED);
        }
    }
    for (i = 0U; i < 3U; i++)
    {
        size_t length = fromHex(hexes[i], bytes, sizeof(bytes));

        for (n = 0U; n < length; n++)
        {
            assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, bytes, n, &r),
                             DEFENDER_MALFORMED);
        }
        bytes[length] = 0x00;
        assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, bytes, length + 1U, &r),
                         DEFENDER_MALFORMED);
    }
}

static void test_Defender_ParseResponse_BadParameters(void **state)
{
    DefenderResponse_t r;
    uint8_t b = 0;

    (void) state;
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON, NULL, 0, &r),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON, &b, 1, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_ParseResponse((DefenderFormat_t) 7, &b, 1, &r),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON, &b, 0, &r), DEFENDER_MALFORMED);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, &b, 0, &r), DEFENDER_MALFORMED);
}

/* ------------------------------------------------------------------------- */
/* JSON syntax                                                                */
/* ------------------------------------------------------------------------- */

static void test_Defender_ParseResponse_JsonWhitespaceAndNul(void **state)
{
    DefenderResponse_t r;
    static const char spaced[] = " \t\r\n{ \"status\" :\n\"ACCEPTED\" , \"reportId\"\t: 5 } \r\n";
    static const uint8_t withNul[] = "{\"status\":\"ACCEPTED\"}";

    (void) state;
    assert_int_equal(parseJson(spaced, &r), DEFENDER_SUCCESS);
    assert_true(r.reportId == 5U);
    assert_false(r.hasThingName);
    assert_false(r.hasTimestamp);
    /* One trailing NUL is tolerated, two are not, nor anything after it. */
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON, withNul, sizeof(withNul), &r),
                     DEFENDER_SUCCESS);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON,
                                            (const uint8_t *) "{\"status\":\"ACCEPTED\"}\0\0", 23U,
                                            &r),
                     DEFENDER_MALFORMED);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON,
                                            (const uint8_t *) "{\"status\":\"ACCEPTED\"} \0 ", 24U,
                                            &r),
                     DEFENDER_MALFORMED);
    assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_JSON,
                                            (const uint8_t *) "{\"status\":\"ACCEPTED\"} \0", 23U,
                                            &r),
                     DEFENDER_SUCCESS);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\"}x"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\"}{}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("\f{\"status\":\"ACCEPTED\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("\xEF\xBB\xBF{\"status\":\"ACCEPTED\"}"), DEFENDER_MALFORMED);
}

static void test_Defender_ParseResponse_JsonSyntaxErrors(void **state)
{
    static const char *bad[] = {
        "",
        "   ",
        "[]",
        "\"status\"",
        "{\"status\":\"ACCEPTED\",}",
        "{,\"status\":\"ACCEPTED\"}",
        "{\"status\" \"ACCEPTED\"}",
        "{\"status\":\"ACCEPTED\" \"x\":1}",
        "{\"status\":\"ACCEPTED\",\"x\":[1,]}",
        "{\"status\":\"ACCEPTED\",\"x\":[1 2]}",
        "{\"status\":\"ACCEPTED\",\"x\":[1}",
        "{\"status\":\"ACCEPTED\",\"x\":{\"a\"}}",
        "{\"status\":\"ACCEPTED\",\"x\":{1:2}}",
        "{\"status\":\"ACCEPTED\",\"x\":tru}",
        "{\"status\":\"ACCEPTED\",\"x\":True}",
        "{\"status\":\"ACCEPTED\",\"x\":nul}",
        "{\"status\":\"ACCEPTED\",\"x\":undefined}",
        "{\"status\":\"ACCEPTED\",\"x\":'a'}",
        "{\"status\":\"ACCEPTED\",\"x\":01}",
        "{\"status\":\"ACCEPTED\",\"x\":-}",
        "{\"status\":\"ACCEPTED\",\"x\":+1}",
        "{\"status\":\"ACCEPTED\",\"x\":1.}",
        "{\"status\":\"ACCEPTED\",\"x\":.5}",
        "{\"status\":\"ACCEPTED\",\"x\":1e}",
        "{\"status\":\"ACCEPTED\",\"x\":1e+}",
        "{\"status\":\"ACCEPTED\",\"x\":1.5.2}",
        "{\"status\":\"ACCEPTED\",\"x\":0x10}",
        "{\"status\":\"ACCEPTED\",\"x\":NaN}",
        "{\"status\":\"ACCEPTED\",\"x\":\"a\\x\"}",
        "{\"status\":\"ACCEPTED\",\"x\":\"a\\u12\"}",
        "{\"status\":\"ACCEPTED\",\"x\":\"a\\u12G4\"}",
        "{\"status\":\"ACCEPTED\",\"x\":\"tab\there\"}",
        "{\"status\":\"ACCEPTED\",\"x\":\"nl\nhere\"}",
        "{\"status\":\"ACCEPTED\",\"x\":\"unterminated}",
        "{\"status\":\"ACCEPTED\"",
        "{\"status\":\"ACCEPTED\" // c\n}",
        /* White space never splits a number. */
        "{\"status\":\"ACCEPTED\",\"x\":1 e5}",
        "{\"status\":\"ACCEPTED\",\"x\":1.5 e5}",
        "{\"status\":\"ACCEPTED\",\"x\":1 .5}",
        "{\"status\":\"ACCEPTED\",\"x\":- 5}",
        "{\"status\":\"ACCEPTED\",\"x\":1e +5}",
        "{\"status\":\"ACCEPTED\",\"reportId\":12 .0}",
        "{\"status\":\"ACCEPTED\",\"timestamp\":12 e3}",
    };
    size_t i;

    (void) state;
    for (i = 0U; i < (sizeof(bad) / sizeof(bad[0])); i++)
    {
        if (jsonStatus(bad[i]) != DEFENDER_MALFORMED)
        {
            fail_msg("accepted: %s", bad[i]);
        }
    }
}

static void test_Defender_ParseResponse_JsonUnknownFieldsSkipped(void **state)
{
    DefenderResponse_t r;
    static const char text[] =
        "{\"a\":null,\"b\":true,\"c\":false,\"d\":-0.5e-3,\"e\":1E+400,\"f\":[],\"g\":{},"
        "\"h\":[1,\"x\",[{\"y\":[null]}],{\"status\":7}],\"thingname\":5,\"Status\":1,"
        "\"ErrorCode\":3,\"reportIdentifier\":\"q\",\"statusDetailsX\":[],"
        "\"i\":123456789012345678901234567890,\"j\":-12,\"k\":0,\"l\":\"\\u0000\","
        "\"status\":\"ACCEPTED\",\"m\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
        "\"statusDetails\":{\"Extra\":{\"ErrorCode\":1},\"ErrorCodes\":2,\"status\":3}}";

    (void) state;
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_ACCEPTED);
    assert_false(r.hasThingName);
    assert_false(r.hasReportId);
    assert_string_equal(r.errorCode, "");
    /* Unknown keys may repeat. */
    assert_int_equal(jsonStatus("{\"x\":1,\"x\":2,\"status\":\"ACCEPTED\",\"x\":[]}"),
                     DEFENDER_SUCCESS);
}

static void test_Defender_ParseResponse_JsonEscapes(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(
        parseJson(
            "{\"status\":\"ACCEPTED\",\"thingName\":\"a\\u00e9\\u20AC\\ud83d\\ude00\\/\\\"\"}", &r),
        DEFENDER_SUCCESS);
    assert_string_equal(r.thingName, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80/\"");
    assert_int_equal(parseJson("{\"status\":\"\\u0041CCEPTED\",\"thingName\":\"\\u007f\"}", &r),
                     DEFENDER_SUCCESS);
    assert_string_equal(r.thingName, "\x7F");
    /* Raw UTF-8 passes through. */
    assert_int_equal(
        parseJson("{\"status\":\"ACCEPTED\",\"thingName\":\"\xC3\xA9\xF4\x8F\xBF\xBF\"}", &r),
        DEFENDER_SUCCESS);
    assert_string_equal(r.thingName, "\xC3\xA9\xF4\x8F\xBF\xBF");

    /* Lone or misordered surrogates. */
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"thingName\":\"\\ud83d\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"thingName\":\"\\ude00\\ud83d\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"thingName\":\"\\ud83dx\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"thingName\":\"\\ud83d\\u0041\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"x\":\"\\udfff\"}"), DEFENDER_MALFORMED);
    /* U+0000 is malformed in a stored string, fine in an unknown one. */
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"thingName\":\"a\\u0000b\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACC\\u0000EPTED\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"a\\u0000\":\"\\u0000\"}"),
                     DEFENDER_SUCCESS);
}

static void test_Defender_ParseResponse_InvalidUtf8(void **state)
{
    static const char *bad[] = {
        "\xC0\x80",         /* overlong NUL */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong '/' */
        "\xF0\x80\x80\xAF", /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xED\xBF\xBF",     /* surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xF5\x80\x80\x80", /* bad lead */
        "\xFF",
        "\x80",     /* lone continuation */
        "\xC3",     /* cut */
        "\xE2\x82", /* cut */
        "\xC3\x28", /* bad continuation */
    };
    char text[128];
    uint8_t cbor[64];
    size_t i;

    (void) state;
    for (i = 0U; i < (sizeof(bad) / sizeof(bad[0])); i++)
    {
        size_t n = strlen(bad[i]);

        (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"x\":\"a%sb\"}", bad[i]);
        assert_int_equal(jsonStatus(text), DEFENDER_MALFORMED);
        /* CBOR {"status":"ACCEPTED","x":text} */
        memcpy(cbor,
               "\xA2\x66status\x68"
               "ACCEPTED\x61x",
               19);
        cbor[19] = (uint8_t) (0x60U + n);
        memcpy(&cbor[20], bad[i], n);
        assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, cbor, 20U + n, NULL),
                         DEFENDER_BAD_PARAMETER);
        {
            DefenderResponse_t r;

            assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, cbor, 20U + n, &r),
                             DEFENDER_MALFORMED);
            cbor[19] = 0x60U;
            assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, cbor, 20U, &r),
                             DEFENDER_SUCCESS);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Field rules                                                                */
/* ------------------------------------------------------------------------- */

static void test_Defender_ParseResponse_ReportIdRange(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(parseJson("{\"status\":\"ACCEPTED\",\"reportId\":1}", &r), DEFENDER_SUCCESS);
    assert_true(r.hasReportId && (r.reportId == 1U));
    assert_int_equal(parseJson("{\"status\":\"ACCEPTED\",\"reportId\":9223372036854775807}", &r),
                     DEFENDER_SUCCESS);
    assert_true(r.reportId == 9223372036854775807ULL);

    static const char *bad[] = {"0",
                                "9223372036854775808",
                                "18446744073709551615",
                                "18446744073709551616",
                                "99999999999999999999999",
                                "-1",
                                "-0",
                                "1.0",
                                "1e3",
                                "1E0",
                                "01",
                                "\"12\"",
                                "true",
                                "null",
                                "[1]",
                                "{}",
                                "0.5"};
    char text[96];
    size_t i;

    for (i = 0U; i < (sizeof(bad) / sizeof(bad[0])); i++)
    {
        (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"reportId\":%s}", bad[i]);
        if (jsonStatus(text) != DEFENDER_MALFORMED)
        {
            fail_msg("accepted reportId %s", bad[i]);
        }
    }

    /* CBOR: any argument length; negative integers, floats, strings refused. */
    assert_int_equal(
        parseCborHex("a2 66737461747573 6841434345505445 44 687265706f72744964 01", &r),
        DEFENDER_SUCCESS);
    assert_true(r.reportId == 1U);
    assert_int_equal(
        parseCborHex("a2 66737461747573 6841434345505445 44 687265706f72744964 1b0000000000000001",
                     &r),
        DEFENDER_SUCCESS);
    assert_true(r.reportId == 1U);
    assert_int_equal(
        parseCborHex("a2 66737461747573 6841434345505445 44 687265706f72744964 1b7fffffffffffffff",
                     &r),
        DEFENDER_SUCCESS);
    assert_true(r.reportId == 9223372036854775807ULL);
    assert_int_equal(cborStatus("a2 66737461747573 6841434345505445 44 687265706f72744964 "
                                "1b8000000000000000"),
                     DEFENDER_MALFORMED);
    assert_int_equal(cborStatus("a2 66737461747573 6841434345505445 44 687265706f72744964 00"),
                     DEFENDER_MALFORMED);
    assert_int_equal(cborStatus("a2 66737461747573 6841434345505445 44 687265706f72744964 20"),
                     DEFENDER_MALFORMED);
    assert_int_equal(cborStatus("a2 66737461747573 6841434345505445 44 687265706f72744964 "
                                "f93c00"),
                     DEFENDER_MALFORMED);
    assert_int_equal(cborStatus("a2 66737461747573 6841434345505445 44 687265706f72744964 6131"),
                     DEFENDER_MALFORMED);
}

static void test_Defender_ParseResponse_TimestampRange(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(parseJson("{\"status\":\"ACCEPTED\",\"timestamp\":0}", &r), DEFENDER_SUCCESS);
    assert_true(r.hasTimestamp && (r.timestamp == 0U));
    assert_int_equal(parseJson("{\"status\":\"ACCEPTED\",\"timestamp\":18446744073709551615}", &r),
                     DEFENDER_SUCCESS);
    assert_true(r.timestamp == UINT64_MAX);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"timestamp\":18446744073709551616}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"timestamp\":-1}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"timestamp\":1.5}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTED\",\"timestamp\":\"1\"}"),
                     DEFENDER_MALFORMED);
    assert_int_equal(
        parseCborHex(
            "a2 66737461747573 6841434345505445 44 6974696d657374616d70 1bffffffffffffffff", &r),
        DEFENDER_SUCCESS);
    assert_true(r.timestamp == UINT64_MAX);
    assert_int_equal(parseCborHex("a2 66737461747573 6841434345505445 44 6974696d657374616d70 "
                                  "1a00010000",
                                  &r),
                     DEFENDER_SUCCESS);
    assert_true(r.timestamp == 65536U);
    assert_int_equal(parseCborHex("a2 66737461747573 6841434345505445 44 6974696d657374616d70 "
                                  "190100",
                                  &r),
                     DEFENDER_SUCCESS);
    assert_true(r.timestamp == 256U);
    assert_int_equal(parseCborHex("a2 66737461747573 6841434345505445 44 6974696d657374616d70 "
                                  "1818",
                                  &r),
                     DEFENDER_SUCCESS);
    assert_true(r.timestamp == 24U);
}

static void test_Defender_ParseResponse_StatusRules(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(parseJson("{\"status\":\"REJECTED\"}", &r), DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_REJECTED);
    assert_int_equal(jsonStatus("{}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"thingName\":\"a\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"accepted\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTEDX\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTE\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"REJECTEDREJECTED\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":1}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":null}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":[\"ACCEPTED\"]}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"statusDetails\":{\"status\":\"ACCEPTED\"}}"),
                     DEFENDER_MALFORMED);
}

/** A key holding U+0000, or longer than any known key, is unknown even when its
 * leading characters spell a known one; a status value is matched whole. */
static void test_Defender_ParseResponse_KeyAndStatusMatchWhole(void **state)
{
    DefenderResponse_t r;

    (void) state;
    assert_int_equal(jsonStatus("{\"status\\u0000\":\"ACCEPTED\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"statusDetailsX\":1,\"status\":\"ACCEPTED\"}"),
                     DEFENDER_SUCCESS);
    assert_int_equal(parseJson("{\"status\":\"ACCEPTED\",\"thingName\\u0000\":5,"
                               "\"reportId\\u0000x\":\"a\"}",
                               &r),
                     DEFENDER_SUCCESS);
    assert_false(r.hasThingName);
    assert_false(r.hasReportId);
    assert_int_equal(jsonStatus("{\"status\":\"ACCEPTEDACCEPTED\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"REJECTEDREJECT\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"status\":\"thingName\"}"), DEFENDER_MALFORMED);
    assert_int_equal(jsonStatus("{\"ACCEPTED\":\"ACCEPTED\"}"), DEFENDER_MALFORMED);
    /* CBOR: "status" split in chunks, and a key "status\0". */
    assert_int_equal(cborStatus("a1 7f 63737461 63747573 ff 6852454a4543544544"), DEFENDER_SUCCESS);
    assert_int_equal(cborStatus("a1 67737461747573 00 6841434345505445 44"), DEFENDER_MALFORMED);
}

static void test_Defender_ParseResponse_DuplicateAndWrongType(void **state)
{
    static const char *bad[] = {
        "{\"status\":\"ACCEPTED\",\"status\":\"ACCEPTED\"}",
        "{\"status\":\"ACCEPTED\",\"thingName\":\"a\",\"thingName\":\"a\"}",
        "{\"status\":\"ACCEPTED\",\"reportId\":1,\"reportId\":1}",
        "{\"status\":\"ACCEPTED\",\"timestamp\":1,\"timestamp\":1}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{},\"statusDetails\":{}}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"ErrorCode\":\"a\",\"ErrorCode\":\"a\"}}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"ErrorMessage\":\"\",\"ErrorMessage\":\"\"}}",
        "{\"status\":\"ACCEPTED\",\"thingName\":1}",
        "{\"status\":\"ACCEPTED\",\"thingName\":null}",
        "{\"status\":\"ACCEPTED\",\"thingName\":[\"a\"]}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":[]}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":\"x\"}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":null}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"ErrorCode\":5}}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"ErrorMessage\":{}}}",
        "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"ErrorCode\":\"x\\u0000\"}}",
    };
    size_t i;

    (void) state;
    for (i = 0U; i < (sizeof(bad) / sizeof(bad[0])); i++)
    {
        if (jsonStatus(bad[i]) != DEFENDER_MALFORMED)
        {
            fail_msg("accepted: %s", bad[i]);
        }
    }
}

/** @brief Builds `{"status":"ACCEPTED","x":` + depth-1 nested containers + `}`. */
static void nestedJson(char *pOut, size_t levels, char open)
{
    size_t i;
    char close = (open == '[') ? ']' : '}';

    pOut += sprintf(pOut, "{\"status\":\"ACCEPTED\",\"x\":");
    for (i = 1U; i < levels; i++)
    {
        *pOut++ = open;
        if ((open == '{') && ((i + 1U) < levels))
        {
            pOut += sprintf(pOut, "\"k\":");
        }
    }
    for (i = 1U; i < levels; i++)
    {
        *pOut++ = close;
    }
    *pOut++ = '}';
    *pOut = '\0';
}

static void test_Defender_ParseResponse_NestingLimit(void **state)
{
    char text[512];
    uint8_t cbor[64];
    size_t n;
    size_t i;
    DefenderResponse_t r;

    (void) state;
    /* The top-level map is level 1: 16 levels are accepted, 17 are not. */
    nestedJson(text, 16U, '[');
    assert_int_equal(jsonStatus(text), DEFENDER_SUCCESS);
    nestedJson(text, 17U, '[');
    assert_int_equal(jsonStatus(text), DEFENDER_MALFORMED);
    nestedJson(text, 16U, '{');
    assert_int_equal(jsonStatus(text), DEFENDER_SUCCESS);
    nestedJson(text, 17U, '{');
    assert_int_equal(jsonStatus(text), DEFENDER_MALFORMED);
    /* statusDetails is level 2. */
    assert_int_equal(
        jsonStatus(
            "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"x\":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}}"),
        DEFENDER_SUCCESS);
    assert_int_equal(
        jsonStatus(
            "{\"status\":\"ACCEPTED\",\"statusDetails\":{\"x\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}}"),
        DEFENDER_MALFORMED);

    for (n = 16U; n <= 17U; n++)
    {
        size_t length = 0U;

        memcpy(cbor,
               "\xA2\x66status\x68"
               "ACCEPTED\x61x",
               19);
        length = 19U;
        for (i = 1U; i < n; i++)
        {
            cbor[length++] = (i == (n - 1U)) ? 0x80U : 0x81U;
        }
        assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, cbor, length, &r),
                         (n == 16U) ? DEFENDER_SUCCESS : DEFENDER_MALFORMED);
        /* Same with indefinite arrays. */
        length = 19U;
        for (i = 1U; i < n; i++)
        {
            cbor[length++] = 0x9FU;
        }
        for (i = 1U; i < n; i++)
        {
            cbor[length++] = 0xFFU;
        }
        assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, cbor, length, &r),
                         (n == 16U) ? DEFENDER_SUCCESS : DEFENDER_MALFORMED);
    }
}

static void test_Defender_ParseResponse_Truncation(void **state)
{
    DefenderResponse_t r;
    char text[1024];
    char name[300];
    size_t i;

    (void) state;
    /* 128 bytes fit; 129 are truncated to 128. */
    memset(name, 'n', 129);
    name[128] = '\0';
    (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"thingName\":\"%s\"}", name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_false(r.thingNameTruncated);
    assert_int_equal(strlen(r.thingName), 128);
    name[128] = 'n';
    name[129] = '\0';
    (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"thingName\":\"%s\"}", name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_true(r.thingNameTruncated);
    assert_int_equal(strlen(r.thingName), 128);

    /* 127 'n' then a 2-byte character: it does not fit, so the name stops at 127. */
    memset(name, 'n', 127);
    strcpy(&name[127], "\xC3\xA9zz");
    (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"thingName\":\"%s\"}", name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_true(r.thingNameTruncated);
    assert_int_equal(strlen(r.thingName), 127);
    /* Same with an escape giving a 4-byte character at 126. */
    memset(name, 'n', 126);
    strcpy(&name[126], "\\ud83d\\ude00");
    (void) snprintf(text, sizeof(text), "{\"status\":\"ACCEPTED\",\"thingName\":\"%s\"}", name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_true(r.thingNameTruncated);
    assert_int_equal(strlen(r.thingName), 126);

    /* ErrorCode keeps 32 bytes, ErrorMessage 128. */
    memset(name, 'e', 200);
    name[200] = '\0';
    (void) snprintf(text, sizeof(text),
                    "{\"status\":\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"%.40s\","
                    "\"ErrorMessage\":\"%s\"}}",
                    name, name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_int_equal(strlen(r.errorCode), DEFENDER_CONFIG_MAX_ERROR_CODE_LENGTH);
    assert_int_equal(strlen(r.errorMessage), DEFENDER_CONFIG_MAX_ERROR_MESSAGE_LENGTH);
    /* Multi-byte characters: never cut in the middle. */
    for (i = 0U; i < 100U; i++)
    {
        memcpy(&name[i * 3U], "\xE2\x82\xAC", 3);
    }
    name[300 - 1] = '\0';
    (void) snprintf(text, sizeof(text),
                    "{\"status\":\"REJECTED\",\"statusDetails\":{\"ErrorMessage\":\"%.297s\"}}",
                    name);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_int_equal(strlen(r.errorMessage), 126);
}

static void test_Defender_ParseResponse_LongResponses(void **state)
{
    DefenderResponse_t r;
    static char text[8192];
    size_t length;

    (void) state;
    /* A 512-byte response, the service's maximum (PD-15). */
    length = (size_t) snprintf(text, sizeof(text),
                               "{\"thingName\":\"%s\",\"reportId\":1735689600000,\"status\":"
                               "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"%s\","
                               "\"ErrorMessage\":\"%s\"},\"timestamp\":1735689600415}",
                               "t", "InvalidPayload", "");
    {
        size_t pad = 512U - length;
        char name[400];

        memset(name, 'm', pad);
        name[pad] = '\0';
        length = (size_t) snprintf(text, sizeof(text),
                                   "{\"thingName\":\"t\",\"reportId\":1735689600000,\"status\":"
                                   "\"REJECTED\",\"statusDetails\":{\"ErrorCode\":\"%s\","
                                   "\"ErrorMessage\":\"%s\"},\"timestamp\":1735689600415}",
                                   "InvalidPayload", name);
    }
    assert_int_equal(length, 512);
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_int_equal(strlen(r.errorMessage), 128);

    /* 8 KB with a large unknown field. */
    memset(text, ' ', sizeof(text));
    memcpy(text, "{\"pad\":\"", 8);
    memset(&text[8], 'p', 6000);
    strcpy(&text[6008], "\",\"status\":\"ACCEPTED\",\"reportId\":42}");
    assert_int_equal(parseJson(text, &r), DEFENDER_SUCCESS);
    assert_true(r.reportId == 42U);
}

/* ------------------------------------------------------------------------- */
/* CBOR specifics                                                             */
/* ------------------------------------------------------------------------- */

/* {"status":"ACCEPTED"} building blocks */
#define S_STATUS "66737461747573 6841434345505445 44 "
#define S_TN     "697468696e674e616d65 "

static void test_Defender_ParseResponse_CborForms(void **state)
{
    DefenderResponse_t r;

    (void) state;
    /* Indefinite map, chunked text (status in two chunks), self-describe tag. */
    assert_int_equal(parseCborHex("bf 66737461747573 7f 6441434345 6450544544 ff ff", &r),
                     DEFENDER_SUCCESS);
    assert_int_equal(r.status, DEFENDER_RESPONSE_ACCEPTED);
    assert_int_equal(parseCborHex("d9d9f7 a1 " S_STATUS, &r), DEFENDER_SUCCESS);
    assert_int_equal(parseCborHex("dad9f70000 a1 " S_STATUS, &r), DEFENDER_MALFORMED);
    assert_int_equal(parseCborHex("da0000d9f7 a1 " S_STATUS, &r), DEFENDER_SUCCESS);
    /* Keys as chunked and long-argument text. */
    assert_int_equal(parseCborHex("a1 7f 63737461 63747573 ff 780841434345505445 44", &r),
                     DEFENDER_SUCCESS);
    assert_int_equal(parseCborHex("a1 7a00000006737461747573 7b0000000000000008414343455054"
                                  "4544",
                                  &r),
                     DEFENDER_SUCCESS);
    /* Map count in a long argument. */
    assert_int_equal(parseCborHex("b90001 " S_STATUS, &r), DEFENDER_SUCCESS);
    assert_int_equal(parseCborHex("bb0000000000000001 " S_STATUS, &r), DEFENDER_SUCCESS);
    /* Empty chunk list and an empty indefinite thing name. */
    assert_int_equal(parseCborHex("a2 " S_STATUS S_TN "7fff", &r), DEFENDER_SUCCESS);
    assert_true(r.hasThingName);
    assert_string_equal(r.thingName, "");
    /* Unknown values of every type. */
    assert_int_equal(
        parseCborHex("bf " S_STATUS "6178 f4 6178f5 6178f6 6178f7 6178 f93c00"
                     " 6178 fa3f800000 6178 fb3ff0000000000000 6178 3b7fffffffffffffff 6178 "
                     "5f4101 40ff 6178 43010203 6178 9f80a0bf6161a0ff9fffff 6178 a1 6161 a1 "
                     "6162 80 ff",
                     &r),
        DEFENDER_SUCCESS);
}

static void test_Defender_ParseResponse_CborErrors(void **state)
{
    static const char *bad[] = {
        "a0",                                    /* no status */
        "80",                                    /* top not a map */
        "6161",                                  /* top text */
        "d9d9f7 d9d9f7 a1 " S_STATUS,            /* tag twice */
        "c0 a1 " S_STATUS,                       /* other tag on top */
        "a2 " S_STATUS "6178 c1 00",             /* tag inside */
        "a2 " S_STATUS "6178 d9d9f7 00",         /* self-describe tag inside */
        "a2 " S_STATUS S_TN "43616263",          /* byte string as thingName */
        "a1 66737461747573 48 4143434550544544", /* byte string as status */
        "a1 46737461747573 6841434345505445 44", /* byte string key */
        "a2 " S_STATUS "01 00",                  /* integer key */
        "a2 " S_STATUS "7f 6161 4162 ff 00",     /* byte chunk in text */
        "a2 " S_STATUS "5f 6161 ff 00",          /* text chunk in bytes */
        "a2 " S_STATUS "7f 7f6161ffff 00",       /* nested indefinite chunk */
        "a2 " S_STATUS "7f 6161",                /* unterminated chunks */
        "a2 " S_STATUS "6178 ff",                /* misplaced break */
        "bf " S_STATUS "ff ff",                  /* extra break */
        "a1 " S_STATUS "ff",                     /* break after definite map */
        "a2 " S_STATUS "6178 1c",                /* reserved additional info */
        "a2 " S_STATUS "6178 3d",
        "a2 " S_STATUS "6178 5c",
        "a2 " S_STATUS "6178 fc",
        "a2 " S_STATUS "6178 1f", /* indefinite integer */
        "a2 " S_STATUS "6178 3f",
        "a2 " S_STATUS "6178 df00",               /* indefinite tag */
        "a2 " S_STATUS "6178 f81f",               /* two-byte simple under 32 */
        "a2 " S_STATUS "6178 fb3ff00000",         /* truncated float */
        "a2 " S_STATUS "6178 7b0000000100000000", /* string longer than the input */
        "a2 " S_STATUS "6178 7bffffffffffffffff",
        "a2 " S_STATUS "6178 9bffffffffffffffff",
        "a2 " S_STATUS "6178 bbffffffffffffffff",
        "a3 " S_STATUS,                                   /* fewer pairs than announced */
        "bf " S_STATUS,                                   /* no break */
        "a1 " S_STATUS "00",                              /* trailing byte */
        "a2 " S_STATUS S_TN "20",                         /* negative as thingName */
        "a2 " S_STATUS S_TN "6261",                       /* truncated text */
        "a2 " S_STATUS "6d73746174757344657461696c73 80", /* statusDetails array */
        "a2 " S_STATUS "6d73746174757344657461696c73 a1 69"
        "4572726f72436f6465 01",
        "a2 " S_STATUS S_TN "626100", /* U+0000 in thingName */
    };
    size_t i;

    (void) state;
    for (i = 0U; i < (sizeof(bad) / sizeof(bad[0])); i++)
    {
        if (cborStatus(bad[i]) != DEFENDER_MALFORMED)
        {
            fail_msg("accepted: %s", bad[i]);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Cross-check against cJSON and libcbor                                      */
/* ------------------------------------------------------------------------- */

/** @brief The generator's model of one response. */
typedef struct Model
{
    char thingName[300];
    bool hasThingName;
    uint64_t reportId;
    bool hasReportId;
    bool rejected;
    uint64_t timestamp;
    bool hasTimestamp;
    bool hasDetails;
    char errorCode[64];
    bool hasErrorCode;
    char errorMessage[300];
    bool hasErrorMessage;
} Model_t;

static uint64_t rnd64(void)
{
    return ((uint64_t) (unsigned) rand() << 40) ^ ((uint64_t) (unsigned) rand() << 20) ^
           (uint64_t) (unsigned) rand();
}

/** @brief Random valid UTF-8 text (no NUL) of up to maxChars characters. */
static void randomText(char *pOut, size_t maxChars)
{
    size_t n = (size_t) rand() % (maxChars + 1U);
    size_t i;
    char *p = pOut;

    for (i = 0U; i < n; i++)
    {
        uint32_t cp;

        switch (rand() % 6)
        {
            case 0:
                cp = 0x80U + (uint32_t) (rand() % 0x780);
                break;
            case 1:
                cp = 0x800U + (uint32_t) (rand() % 0xF800);
                if ((cp >= 0xD800U) && (cp < 0xE000U))
                {
                    cp = 0x20ACU;
                }
                break;
            case 2:
                cp = 0x10000U + (uint32_t) (rand() % 0x100000);
                break;
            case 3:
                cp = 1U + (uint32_t) (rand() % 0x7F);
                break;
            default:
                cp = (uint32_t) 'a' + (uint32_t) (rand() % 26);
                break;
        }
        if (cp < 0x80U)
        {
            *p++ = (char) cp;
        }
        else if (cp < 0x800U)
        {
            *p++ = (char) (0xC0U | (cp >> 6));
            *p++ = (char) (0x80U | (cp & 0x3FU));
        }
        else if (cp < 0x10000U)
        {
            *p++ = (char) (0xE0U | (cp >> 12));
            *p++ = (char) (0x80U | ((cp >> 6) & 0x3FU));
            *p++ = (char) (0x80U | (cp & 0x3FU));
        }
        else
        {
            *p++ = (char) (0xF0U | (cp >> 18));
            *p++ = (char) (0x80U | ((cp >> 12) & 0x3FU));
            *p++ = (char) (0x80U | ((cp >> 6) & 0x3FU));
            *p++ = (char) (0x80U | (cp & 0x3FU));
        }
    }
    *p = '\0';
}

static void randomModel(Model_t *pModel)
{
    memset(pModel, 0, sizeof(*pModel));
    pModel->hasThingName = (rand() % 4) != 0;
    randomText(pModel->thingName, 70);
    pModel->hasReportId = (rand() % 3) != 0;
    pModel->reportId = 1U + (rnd64() % INT64_MAX);
    if (rand() % 4 == 0)
    {
        pModel->reportId = 1U + (uint64_t) (rand() % 30);
    }
    pModel->rejected = (rand() % 2) != 0;
    pModel->hasTimestamp = (rand() % 3) != 0;
    pModel->timestamp = rnd64() * ((rand() % 2) ? 1U : 4093U);
    pModel->hasDetails = (rand() % 2) != 0;
    pModel->hasErrorCode = (rand() % 3) != 0;
    randomText(pModel->errorCode, 12);
    pModel->hasErrorMessage = (rand() % 3) != 0;
    randomText(pModel->errorMessage, 60);
}

/** @brief Truncates UTF-8 text to fit size bytes with NUL on a character boundary. */
static void expectTruncated(const char *pFull, char *pOut, size_t size, bool *pTruncated)
{
    size_t length = strlen(pFull);

    *pTruncated = length >= size;
    if (length >= size)
    {
        length = size - 1U;
        while ((length > 0U) && (((uint8_t) pFull[length] & 0xC0U) == 0x80U))
        {
            length--;
        }
    }
    memcpy(pOut, pFull, length);
    pOut[length] = '\0';
}

static void checkAgainstModel(const Model_t *pModel, const DefenderResponse_t *pResponse)
{
    char expected[300];
    bool truncated;

    assert_int_equal(pResponse->status,
                     pModel->rejected ? DEFENDER_RESPONSE_REJECTED : DEFENDER_RESPONSE_ACCEPTED);
    assert_int_equal(pResponse->hasThingName, pModel->hasThingName);
    if (pModel->hasThingName)
    {
        expectTruncated(pModel->thingName, expected, sizeof(pResponse->thingName), &truncated);
        assert_string_equal(pResponse->thingName, expected);
        assert_int_equal(pResponse->thingNameTruncated, truncated);
    }
    assert_int_equal(pResponse->hasReportId, pModel->hasReportId);
    if (pModel->hasReportId)
    {
        assert_true(pResponse->reportId == pModel->reportId);
    }
    assert_int_equal(pResponse->hasTimestamp, pModel->hasTimestamp);
    if (pModel->hasTimestamp)
    {
        assert_true(pResponse->timestamp == pModel->timestamp);
    }
    if (pModel->hasDetails && pModel->hasErrorCode)
    {
        expectTruncated(pModel->errorCode, expected, sizeof(pResponse->errorCode), &truncated);
        assert_string_equal(pResponse->errorCode, expected);
    }
    else
    {
        assert_string_equal(pResponse->errorCode, "");
    }
    if (pModel->hasDetails && pModel->hasErrorMessage)
    {
        expectTruncated(pModel->errorMessage, expected, sizeof(pResponse->errorMessage),
                        &truncated);
        assert_string_equal(pResponse->errorMessage, expected);
    }
    else
    {
        assert_string_equal(pResponse->errorMessage, "");
    }
}

/** @brief A random unknown JSON value of at most the given depth. */
static cJSON *randomJsonValue(int depth)
{
    cJSON *pValue;
    char text[200];
    int i;
    int n;

    switch (rand() % ((depth > 0) ? 8 : 6))
    {
        case 0:
            pValue = cJSON_CreateNull();
            break;
        case 1:
            pValue = cJSON_CreateBool(rand() % 2);
            break;
        case 2:
            pValue = cJSON_CreateNumber((double) (rand() - RAND_MAX / 2) / 7.0);
            break;
        case 3:
            (void) snprintf(text, sizeof(text), "%d.%de%d", rand() % 100 - 50, rand(),
                            rand() % 600 - 300);
            pValue = cJSON_CreateRaw(text);
            break;
        case 4:
        case 5:
            randomText(text, 30);
            pValue = cJSON_CreateString(text);
            break;
        case 6:
            pValue = cJSON_CreateArray();
            n = rand() % 4;
            for (i = 0; i < n; i++)
            {
                cJSON_AddItemToArray(pValue, randomJsonValue(depth - 1));
            }
            break;
        default:
            pValue = cJSON_CreateObject();
            n = rand() % 4;
            for (i = 0; i < n; i++)
            {
                randomText(text, 8);
                cJSON_AddItemToObject(pValue, text, randomJsonValue(depth - 1));
            }
            break;
    }

    return pValue;
}

static char *modelToJson(const Model_t *pModel)
{
    cJSON *pRoot = cJSON_CreateObject();
    cJSON *pDetails;
    char number[32];
    char *pText;
    int order[6] = {0, 1, 2, 3, 4, 5};
    int i;

    for (i = 5; i > 0; i--)
    {
        int j = rand() % (i + 1);
        int t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    for (i = 0; i < 6; i++)
    {
        switch (order[i])
        {
            case 0:
                if (pModel->hasThingName)
                {
                    cJSON_AddStringToObject(pRoot, "thingName", pModel->thingName);
                }
                break;
            case 1:
                if (pModel->hasReportId)
                {
                    (void) snprintf(number, sizeof(number), "%llu",
                                    (unsigned long long) pModel->reportId);
                    cJSON_AddRawToObject(pRoot, "reportId", number);
                }
                break;
            case 2:
                cJSON_AddStringToObject(pRoot, "status",
                                        pModel->rejected ? "REJECTED" : "ACCEPTED");
                break;
            case 3:
                if (pModel->hasDetails)
                {
                    pDetails = cJSON_AddObjectToObject(pRoot, "statusDetails");
                    if (rand() % 2)
                    {
                        cJSON_AddItemToObject(pDetails, "Other", randomJsonValue(3));
                    }
                    if (pModel->hasErrorMessage)
                    {
                        cJSON_AddStringToObject(pDetails, "ErrorMessage", pModel->errorMessage);
                    }
                    if (pModel->hasErrorCode)
                    {
                        cJSON_AddStringToObject(pDetails, "ErrorCode", pModel->errorCode);
                    }
                }
                break;
            case 4:
                if (pModel->hasTimestamp)
                {
                    (void) snprintf(number, sizeof(number), "%llu",
                                    (unsigned long long) pModel->timestamp);
                    cJSON_AddRawToObject(pRoot, "timestamp", number);
                }
                break;
            default:
                if (rand() % 2)
                {
                    cJSON_AddItemToObject(pRoot, "unknown", randomJsonValue(4));
                }
                break;
        }
    }

    pText = (rand() % 2) ? cJSON_PrintUnformatted(pRoot) : cJSON_Print(pRoot);
    cJSON_Delete(pRoot);

    return pText;
}

/** @brief A CBOR text string, definite or chunked. */
static cbor_item_t *cborText(const char *pText)
{
    cbor_item_t *pItem;
    size_t length = strlen(pText);

    if ((rand() % 3) != 0)
    {
        pItem = cbor_build_stringn(pText, length);
    }
    else
    {
        /* Chunks split on character boundaries. */
        size_t start = 0U;

        pItem = cbor_new_indefinite_string();
        while (start < length)
        {
            size_t end = start + 1U + (size_t) (rand() % 5);

            if (end > length)
            {
                end = length;
            }
            while ((end < length) && (((uint8_t) pText[end] & 0xC0U) == 0x80U))
            {
                end++;
            }
            cbor_item_t *pChunk = cbor_build_stringn(&pText[start], end - start);
            assert_true(cbor_string_add_chunk(pItem, cbor_move(pChunk)));
            start = end;
        }
    }

    return pItem;
}

static cbor_item_t *randomCborValue(int depth)
{
    cbor_item_t *pValue;
    char text[200];
    int i;
    int n;

    switch (rand() % ((depth > 0) ? 9 : 7))
    {
        case 0:
            pValue = cbor_build_ctrl((uint8_t) (20 + rand() % 4));
            break;
        case 1:
            pValue = cbor_build_uint64(rnd64());
            break;
        case 2:
            pValue = cbor_build_negint32((uint32_t) rand());
            break;
        case 3:
            pValue = cbor_build_float8((double) rand() / 3.0);
            break;
        case 4:
            pValue = cbor_build_bytestring((const unsigned char *) "\x00\xff\x7f", 3);
            break;
        case 5:
        case 6:
            randomText(text, 30);
            pValue = cborText(text);
            break;
        case 7:
            n = rand() % 4;
            pValue =
                (rand() % 2) ? cbor_new_definite_array((size_t) n) : cbor_new_indefinite_array();
            for (i = 0; i < n; i++)
            {
                assert_true(cbor_array_push(pValue, cbor_move(randomCborValue(depth - 1))));
            }
            break;
        default:
            n = rand() % 4;
            pValue = (rand() % 2) ? cbor_new_definite_map((size_t) n) : cbor_new_indefinite_map();
            for (i = 0; i < n; i++)
            {
                randomText(text, 8);
                assert_true(cbor_map_add(
                    pValue, (struct cbor_pair){.key = cbor_move(cborText(text)),
                                               .value = cbor_move(randomCborValue(depth - 1))}));
            }
            break;
    }

    return pValue;
}

/** @brief An unsigned integer in a random (not always shortest) argument length. */
static cbor_item_t *cborUint(uint64_t value)
{
    cbor_item_t *pItem = cbor_build_uint64(value);

    if ((value <= UINT32_MAX) && (rand() % 2))
    {
        pItem = (cbor_decref(&pItem), cbor_build_uint32((uint32_t) value));
    }
    if ((value <= UINT8_MAX) && (rand() % 2))
    {
        pItem = (cbor_decref(&pItem), cbor_build_uint8((uint8_t) value));
    }

    return pItem;
}

static void addPair(cbor_item_t *pMap, const char *pKey, cbor_item_t *pValue)
{
    assert_true(cbor_map_add(
        pMap, (struct cbor_pair){.key = cbor_move(cborText(pKey)), .value = cbor_move(pValue)}));
}

static size_t modelToCbor(const Model_t *pModel, unsigned char **ppOut)
{
    bool indefinite = (rand() % 2) != 0;
    cbor_item_t *pRoot = indefinite ? cbor_new_indefinite_map() : cbor_new_definite_map(8);
    size_t bufferSize = 0U;
    size_t length;

    if (pModel->hasThingName)
    {
        addPair(pRoot, "thingName", cborText(pModel->thingName));
    }
    if (rand() % 2)
    {
        addPair(pRoot, "unknown", randomCborValue(4));
    }
    if (pModel->hasReportId)
    {
        addPair(pRoot, "reportId", cborUint(pModel->reportId));
    }
    addPair(pRoot, "status", cborText(pModel->rejected ? "REJECTED" : "ACCEPTED"));
    if (pModel->hasDetails)
    {
        cbor_item_t *pDetails = (rand() % 2) ? cbor_new_indefinite_map() : cbor_new_definite_map(3);

        if (pModel->hasErrorCode)
        {
            addPair(pDetails, "ErrorCode", cborText(pModel->errorCode));
        }
        if (rand() % 2)
        {
            addPair(pDetails, "Other", randomCborValue(3));
        }
        if (pModel->hasErrorMessage)
        {
            addPair(pDetails, "ErrorMessage", cborText(pModel->errorMessage));
        }
        addPair(pRoot, "statusDetails", pDetails);
    }
    if (pModel->hasTimestamp)
    {
        addPair(pRoot, "timestamp", cborUint(pModel->timestamp));
    }
    if (rand() % 4 == 0)
    {
        pRoot = cbor_build_tag(55799, cbor_move(pRoot));
    }

    length = cbor_serialize_alloc(pRoot, ppOut, &bufferSize);
    assert_true(length > 0U);
    cbor_decref(&pRoot);

    return length;
}

/** @brief When our parser accepts a (mutated) JSON text, cJSON agrees on every field. */
static void crossCheckJson(const uint8_t *pText, size_t length, const DefenderResponse_t *pResponse)
{
    char *pCopy = malloc(length + 1U);
    cJSON *pRoot;
    const cJSON *pItem;

    memcpy(pCopy, pText, length);
    pCopy[length] = '\0';
    pRoot = cJSON_ParseWithLengthOpts(pCopy, length + 1U, NULL, 0);
    assert_non_null(pRoot);
    assert_true(cJSON_IsObject(pRoot));
    pItem = cJSON_GetObjectItemCaseSensitive(pRoot, "status");
    assert_true(cJSON_IsString(pItem));
    assert_string_equal(pItem->valuestring, (pResponse->status == DEFENDER_RESPONSE_REJECTED)
                                                ? "REJECTED"
                                                : "ACCEPTED");
    pItem = cJSON_GetObjectItemCaseSensitive(pRoot, "thingName");
    assert_int_equal(pItem != NULL, pResponse->hasThingName);
    if ((pItem != NULL) && !pResponse->thingNameTruncated)
    {
        assert_string_equal(pItem->valuestring, pResponse->thingName);
    }
    pItem = cJSON_GetObjectItemCaseSensitive(pRoot, "reportId");
    assert_int_equal(pItem != NULL, pResponse->hasReportId);
    if (pItem != NULL)
    {
        assert_true(cJSON_IsNumber(pItem));
        assert_true(pItem->valuedouble == (double) pResponse->reportId);
    }
    pItem = cJSON_GetObjectItemCaseSensitive(pRoot, "timestamp");
    assert_int_equal(pItem != NULL, pResponse->hasTimestamp);
    if (pItem != NULL)
    {
        assert_true(pItem->valuedouble == (double) pResponse->timestamp);
    }
    cJSON_Delete(pRoot);
    free(pCopy);
}

/** @brief When our parser accepts a (mutated) CBOR item, libcbor agrees on the fields. */
static void crossCheckCbor(const uint8_t *pBytes, size_t length,
                           const DefenderResponse_t *pResponse)
{
    struct cbor_load_result result;
    cbor_item_t *pRoot = cbor_load(pBytes, length, &result);
    cbor_item_t *pMap;
    size_t i;
    bool sawStatus = false;

    assert_non_null(pRoot);
    assert_int_equal(result.error.code, CBOR_ERR_NONE);
    assert_int_equal(result.read, length);
    pMap = cbor_isa_tag(pRoot) ? cbor_tag_item(pRoot) : pRoot;
    assert_true(cbor_isa_map(pMap));
    for (i = 0U; i < cbor_map_size(pMap); i++)
    {
        struct cbor_pair pair = cbor_map_handle(pMap)[i];
        unsigned char *pKey = NULL;
        size_t keySize = 0U;

        assert_true(cbor_isa_string(pair.key));
        (void) cbor_serialize_alloc(pair.key, &pKey, &keySize);
        if (cbor_string_is_definite(pair.key) && (cbor_string_length(pair.key) == 6U) &&
            (memcmp(cbor_string_handle(pair.key), "status", 6) == 0))
        {
            sawStatus = true;
        }
        if (cbor_string_is_definite(pair.key) && (cbor_string_length(pair.key) == 8U) &&
            (memcmp(cbor_string_handle(pair.key), "reportId", 8) == 0))
        {
            assert_true(cbor_isa_uint(pair.value));
            assert_true(pResponse->hasReportId);
            assert_true(cbor_get_int(pair.value) == pResponse->reportId);
        }
        if (cbor_string_is_definite(pair.key) && (cbor_string_length(pair.key) == 9U) &&
            (memcmp(cbor_string_handle(pair.key), "timestamp", 9) == 0))
        {
            assert_true(cbor_isa_uint(pair.value));
            assert_true(cbor_get_int(pair.value) == pResponse->timestamp);
        }
        free(pKey);
    }
    (void) sawStatus;
    if (pMap != pRoot)
    {
        cbor_decref(&pMap); /* cbor_tag_item() took a reference. */
    }
    cbor_decref(&pRoot);
}

/** @brief Flips, inserts or deletes a few bytes. */
static size_t mutate(uint8_t *pBytes, size_t length, size_t capacity)
{
    int n = 1 + rand() % 3;
    int i;

    for (i = 0; (i < n) && (length > 0U); i++)
    {
        size_t at = (size_t) rand() % length;

        switch (rand() % 4)
        {
            case 0:
                pBytes[at] ^= (uint8_t) (1U << (rand() % 8));
                break;
            case 1:
                pBytes[at] = (uint8_t) rand();
                break;
            case 2:
                if (length < capacity)
                {
                    memmove(&pBytes[at + 1U], &pBytes[at], length - at);
                    pBytes[at] = (uint8_t) rand();
                    length++;
                }
                break;
            default:
                memmove(&pBytes[at], &pBytes[at + 1U], length - at - 1U);
                length--;
                break;
        }
    }

    return length;
}

static void test_Defender_ParseResponse_CrossCheckJson(void **state)
{
    static uint8_t buffer[16384];
    DefenderResponse_t r;
    int round;
    int accepted = 0;

    (void) state;
    srand(12345);
    for (round = 0; (unsigned long) round < TestScale(3000UL); round++)
    {
        Model_t model;
        char *pText;
        size_t length;
        int m;

        randomModel(&model);
        pText = modelToJson(&model);
        length = strlen(pText);
        assert_true(length < sizeof(buffer));
        assert_int_equal(parseJson(pText, &r), DEFENDER_SUCCESS);
        checkAgainstModel(&model, &r);

        for (m = 0; m < 10; m++)
        {
            size_t mutated;

            memcpy(buffer, pText, length);
            mutated = mutate(buffer, length, sizeof(buffer));
            if (Defender_ParseResponse(DEFENDER_FORMAT_JSON, buffer, mutated, &r) ==
                DEFENDER_SUCCESS)
            {
                if ((mutated > 0U) && (buffer[mutated - 1U] == 0U))
                {
                    mutated--;
                }
                crossCheckJson(buffer, mutated, &r);
                accepted++;
            }
        }
        free(pText);
    }
    print_message("cross-check JSON: %d mutated inputs accepted and confirmed by cJSON\n",
                  accepted);
}

static void test_Defender_ParseResponse_CrossCheckCbor(void **state)
{
    static uint8_t buffer[16384];
    DefenderResponse_t r;
    int round;
    int accepted = 0;

    (void) state;
    srand(54321);
    for (round = 0; (unsigned long) round < TestScale(3000UL); round++)
    {
        Model_t model;
        unsigned char *pBytes = NULL;
        size_t length;
        int m;

        randomModel(&model);
        length = modelToCbor(&model, &pBytes);
        assert_true(length < sizeof(buffer));
        assert_int_equal(Defender_ParseResponse(DEFENDER_FORMAT_CBOR, pBytes, length, &r),
                         DEFENDER_SUCCESS);
        checkAgainstModel(&model, &r);
        crossCheckCbor(pBytes, length, &r);

        for (m = 0; m < 10; m++)
        {
            size_t mutated;

            memcpy(buffer, pBytes, length);
            mutated = mutate(buffer, length, sizeof(buffer));
            if (Defender_ParseResponse(DEFENDER_FORMAT_CBOR, buffer, mutated, &r) ==
                DEFENDER_SUCCESS)
            {
                crossCheckCbor(buffer, mutated, &r);
                accepted++;
            }
        }
        free(pBytes);
    }
    print_message("cross-check CBOR: %d mutated inputs accepted and confirmed by libcbor\n",
                  accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_ParseResponse_SpecR1),
        cmocka_unit_test(test_Defender_ParseResponse_SpecR2R3R4),
        cmocka_unit_test(test_Defender_ParseResponse_SpecCborV5V6V7),
        cmocka_unit_test(test_Defender_ParseResponse_EveryPrefixMalformed),
        cmocka_unit_test(test_Defender_ParseResponse_BadParameters),
        cmocka_unit_test(test_Defender_ParseResponse_JsonWhitespaceAndNul),
        cmocka_unit_test(test_Defender_ParseResponse_JsonSyntaxErrors),
        cmocka_unit_test(test_Defender_ParseResponse_JsonUnknownFieldsSkipped),
        cmocka_unit_test(test_Defender_ParseResponse_JsonEscapes),
        cmocka_unit_test(test_Defender_ParseResponse_InvalidUtf8),
        cmocka_unit_test(test_Defender_ParseResponse_ReportIdRange),
        cmocka_unit_test(test_Defender_ParseResponse_TimestampRange),
        cmocka_unit_test(test_Defender_ParseResponse_StatusRules),
        cmocka_unit_test(test_Defender_ParseResponse_KeyAndStatusMatchWhole),
        cmocka_unit_test(test_Defender_ParseResponse_DuplicateAndWrongType),
        cmocka_unit_test(test_Defender_ParseResponse_NestingLimit),
        cmocka_unit_test(test_Defender_ParseResponse_Truncation),
        cmocka_unit_test(test_Defender_ParseResponse_LongResponses),
        cmocka_unit_test(test_Defender_ParseResponse_CborForms),
        cmocka_unit_test(test_Defender_ParseResponse_CborErrors),
        cmocka_unit_test(test_Defender_ParseResponse_CrossCheckJson),
        cmocka_unit_test(test_Defender_ParseResponse_CrossCheckCbor),
    };

    return cmocka_run_group_tests_name("unit_response", tests, NULL, NULL);
}
