/**
 * @file test_defender_topic.c
 * @brief Unit tests of Defender_ThingNameValid and Defender_GetTopic
 * (protocol spec 1.1, 1.2; PD-1, PD-2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "defender_protocol.h"

/** @brief Checks a NUL-terminated name. */
static bool nameValid(const char *pName)
{
    return Defender_ThingNameValid(pName, strlen(pName));
}

static void test_Defender_ThingNameValid_Lengths(void **state)
{
    char name[200];

    (void) state;
    memset(name, 'a', sizeof(name));
    assert_false(Defender_ThingNameValid(name, 0U));
    assert_true(Defender_ThingNameValid(name, 1U));
    assert_true(Defender_ThingNameValid(name, 128U));
    assert_false(Defender_ThingNameValid(name, 129U));
    assert_false(Defender_ThingNameValid(NULL, 5U));
    assert_false(Defender_ThingNameValid(NULL, 0U));
    /* 128 bytes counted in bytes, not characters: 64 two-byte characters fit, 65 do not. */
    for (size_t i = 0U; i < 65U; i++)
    {
        memcpy(&name[2U * i], "\xC3\xA9", 2U);
    }
    assert_true(Defender_ThingNameValid(name, 128U));
    assert_false(Defender_ThingNameValid(name, 130U));
    /* The length given is what counts, not a terminator. */
    assert_true(Defender_ThingNameValid("abc/def", 3U));
}

static void test_Defender_ThingNameValid_ForbiddenCharacters(void **state)
{
    char name[4] = {'a', 0, 'b', 0};
    unsigned c;

    (void) state;
    assert_true(nameValid("sensor-42"));
    assert_true(nameValid("a:b_c-d.e f~!@$%^&*()=[]{}|\\;'\",<>?`"));
    assert_false(nameValid("a/b"));
    assert_false(nameValid("a+b"));
    assert_false(nameValid("a#b"));
    assert_false(nameValid("/"));
    assert_false(nameValid("+"));
    assert_false(nameValid("#"));
    for (c = 0U; c < 0x20U; c++)
    {
        name[1] = (char) c;
        assert_false(Defender_ThingNameValid(name, 3U));
    }
    name[1] = 0x7F;
    assert_false(Defender_ThingNameValid(name, 3U));
    name[1] = ' ';
    assert_true(Defender_ThingNameValid(name, 3U));
    name[1] = '~';
    assert_true(Defender_ThingNameValid(name, 3U));
}

static void test_Defender_ThingNameValid_Utf8(void **state)
{
    (void) state;
    assert_true(nameValid("caf\xC3\xA9"));
    assert_true(nameValid("\xC2\x80"));         /* U+0080 (a C1 control: allowed) */
    assert_true(nameValid("\xDF\xBF"));         /* U+07FF */
    assert_true(nameValid("\xE0\xA0\x80"));     /* U+0800 */
    assert_true(nameValid("\xED\x9F\xBF"));     /* U+D7FF */
    assert_true(nameValid("\xEE\x80\x80"));     /* U+E000 */
    assert_true(nameValid("\xEF\xBF\xBF"));     /* U+FFFF */
    assert_true(nameValid("\xF0\x90\x80\x80")); /* U+10000 */
    assert_true(nameValid("\xF0\x9F\x98\x80")); /* emoji */
    assert_true(nameValid("\xF4\x8F\xBF\xBF")); /* U+10FFFF */

    assert_false(nameValid("\xC0\xAF"));                 /* overlong '/' */
    assert_false(nameValid("\xC1\xBF"));                 /* overlong */
    assert_false(nameValid("\xE0\x80\xAF"));             /* overlong '/' */
    assert_false(nameValid("\xE0\x9F\xBF"));             /* overlong U+07FF */
    assert_false(nameValid("\xF0\x80\x80\xAF"));         /* overlong '/' */
    assert_false(nameValid("\xF0\x8F\xBF\xBF"));         /* overlong U+FFFF */
    assert_false(nameValid("\xED\xA0\x80"));             /* U+D800 */
    assert_false(nameValid("\xED\xBF\xBF"));             /* U+DFFF */
    assert_false(nameValid("\xED\xA0\xBD\xED\xB8\x80")); /* CESU-8 pair */
    assert_false(nameValid("\xF4\x90\x80\x80"));         /* U+110000 */
    assert_false(nameValid("\xF5\x80\x80\x80"));
    assert_false(nameValid("\xF8\x88\x80\x80\x80"));
    assert_false(nameValid("\xFE"));
    assert_false(nameValid("\xFF"));
    assert_false(nameValid("\x80")); /* lone continuation */
    assert_false(nameValid("a\xBF"));
    assert_false(nameValid("\xC3")); /* cut at the end */
    assert_false(nameValid("\xE2\x82"));
    assert_false(nameValid("\xF0\x9F\x98"));
    assert_false(nameValid("\xC3(")); /* bad continuation */
    assert_false(nameValid("\xE2(\xAC"));
    assert_false(nameValid("\xF0\x9F(\x80"));
    /* A sequence cut by the length given, though the bytes go on. */
    assert_false(Defender_ThingNameValid("a\xC3\xA9", 2U));
}

static void test_Defender_GetTopic_AllKinds(void **state)
{
    char buffer[DEFENDER_TOPIC_BUFFER_SIZE];
    size_t length = 0U;
    static const char *expected[2][3] = {{"$aws/things/sensor-42/defender/metrics/json",
                                          "$aws/things/sensor-42/defender/metrics/json/accepted",
                                          "$aws/things/sensor-42/defender/metrics/json/rejected"},
                                         {"$aws/things/sensor-42/defender/metrics/cbor",
                                          "$aws/things/sensor-42/defender/metrics/cbor/accepted",
                                          "$aws/things/sensor-42/defender/metrics/cbor/rejected"}};
    int f;
    int k;

    (void) state;
    for (f = 0; f < 2; f++)
    {
        for (k = 0; k < 3; k++)
        {
            memset(buffer, 'X', sizeof(buffer));
            assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "sensor-42", 9U,
                                               (DefenderFormat_t) f, (DefenderTopicKind_t) k,
                                               &length),
                             DEFENDER_SUCCESS);
            assert_string_equal(buffer, expected[f][k]);
            assert_int_equal(length, strlen(expected[f][k]));
            /* Spec 1.1: N + 34 and N + 43. */
            assert_int_equal(length, 9U + ((k == 0) ? 34U : 43U));
        }
    }
    /* pLength is optional. */
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "x", 1U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_SUCCESS);
    assert_string_equal(buffer, "$aws/things/x/defender/metrics/json");
}

static void test_Defender_GetTopic_LongestAndBufferSize(void **state)
{
    char name[128];
    char buffer[DEFENDER_TOPIC_BUFFER_SIZE + 8U];
    size_t length = 0U;

    (void) state;
    assert_int_equal(DEFENDER_MAX_TOPIC_LENGTH, 171);
    assert_int_equal(DEFENDER_TOPIC_BUFFER_SIZE, 172);
    memset(name, 'n', sizeof(name));
    assert_int_equal(Defender_GetTopic(buffer, DEFENDER_TOPIC_BUFFER_SIZE, name, 128U,
                                       DEFENDER_FORMAT_CBOR, DEFENDER_TOPIC_REJECTED, &length),
                     DEFENDER_SUCCESS);
    assert_int_equal(length, 171);
    assert_int_equal(strlen(buffer), 171);
    /* One byte short: the terminator does not fit. */
    memset(buffer, 'X', sizeof(buffer));
    assert_int_equal(Defender_GetTopic(buffer, DEFENDER_TOPIC_BUFFER_SIZE - 1U, name, 128U,
                                       DEFENDER_FORMAT_CBOR, DEFENDER_TOPIC_REJECTED, &length),
                     DEFENDER_BUFFER_TOO_SMALL);
    assert_int_equal(buffer[0], 'X');
    /* Exact fit for a report topic: N + 34 + 1. */
    assert_int_equal(Defender_GetTopic(buffer, 9U + 35U, "sensor-42", 9U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, &length),
                     DEFENDER_SUCCESS);
    assert_int_equal(Defender_GetTopic(buffer, 9U + 34U, "sensor-42", 9U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, &length),
                     DEFENDER_BUFFER_TOO_SMALL);
    assert_int_equal(Defender_GetTopic(buffer, 0U, "sensor-42", 9U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, &length),
                     DEFENDER_BUFFER_TOO_SMALL);
}

static void test_Defender_GetTopic_BadParameters(void **state)
{
    char buffer[DEFENDER_TOPIC_BUFFER_SIZE];
    char name[129];

    (void) state;
    memset(name, 'n', sizeof(name));
    assert_int_equal(Defender_GetTopic(NULL, sizeof(buffer), "a", 1U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), NULL, 1U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "a", 0U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), name, 129U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "a/b", 3U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "a+", 2U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "\xC0\xAF", 2U, DEFENDER_FORMAT_JSON,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "a", 1U, (DefenderFormat_t) 2,
                                       DEFENDER_TOPIC_REPORT, NULL),
                     DEFENDER_BAD_PARAMETER);
    assert_int_equal(Defender_GetTopic(buffer, sizeof(buffer), "a", 1U, DEFENDER_FORMAT_JSON,
                                       (DefenderTopicKind_t) 3, NULL),
                     DEFENDER_BAD_PARAMETER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_ThingNameValid_Lengths),
        cmocka_unit_test(test_Defender_ThingNameValid_ForbiddenCharacters),
        cmocka_unit_test(test_Defender_ThingNameValid_Utf8),
        cmocka_unit_test(test_Defender_GetTopic_AllKinds),
        cmocka_unit_test(test_Defender_GetTopic_LongestAndBufferSize),
        cmocka_unit_test(test_Defender_GetTopic_BadParameters),
    };

    return cmocka_run_group_tests_name("unit_topic", tests, NULL, NULL);
}
