/**
 * @file test_defender_address.c
 * @brief Unit tests of IP address formatting (RFC 5952) and parsing, checked against
 * glibc's inet_ntop / inet_pton over many random addresses and texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "test_scale.h"

#include "defender_report.h"

static uint64_t rngState = 0x1234567887654321ULL;

static uint64_t Rand64(void)
{
    rngState ^= rngState >> 12;
    rngState ^= rngState << 25;
    rngState ^= rngState >> 27;
    return rngState * 0x2545F4914F6CDD1DULL;
}

static uint32_t RandBelow(uint32_t n)
{
    return (uint32_t) (Rand64() % n);
}

static DefenderIpAddress_t Parse(const char *pText)
{
    DefenderIpAddress_t address;

    memset(&address, 0xEE, sizeof(address));
    assert_true(Defender_ParseIpAddress(pText, strlen(pText), &address));
    return address;
}

static void AssertFormat(const char *pInput, const char *pExpected)
{
    DefenderIpAddress_t address = Parse(pInput);
    char text[64];

    assert_int_equal(Defender_FormatIpAddress(&address, text, sizeof(text)), strlen(pExpected));
    assert_string_equal(text, pExpected);
}

static void test_Defender_FormatIpAddress_Rfc5952(void **state)
{
    (void) state;
    AssertFormat("2001:0DB8:0000:0000:0000:0000:0000:0017", "2001:db8::17");
    AssertFormat("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");    /* first of equal runs */
    AssertFormat("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");          /* longest run */
    AssertFormat("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* no single group */
    AssertFormat("0:0:0:0:0:0:0:0", "::");
    AssertFormat("0:0:0:0:0:0:0:1", "::1");
    AssertFormat("1:0:0:0:0:0:0:0", "1::");
    AssertFormat("1:0:0:0:0:0:0:1", "1::1");
    AssertFormat("0:1:0:1:0:1:0:1", "0:1:0:1:0:1:0:1");
    AssertFormat("::ffff:192.0.2.1", "::ffff:192.0.2.1");
    AssertFormat("::ffff:c000:201", "::ffff:192.0.2.1");
    AssertFormat("::1.2.3.4", "::102:304"); /* RFC 5952: no deprecated compatible form */
    AssertFormat("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    AssertFormat("0.0.0.0", "0.0.0.0");
    AssertFormat("255.255.255.255", "255.255.255.255");
    AssertFormat("192.0.2.53", "192.0.2.53");
}

static void test_Defender_FormatIpAddress_BufferAndFamily(void **state)
{
    DefenderIpAddress_t address = Parse("2001:db8::17");
    char text[64];

    (void) state;
    assert_int_equal(Defender_FormatIpAddress(&address, text, 13), 12);
    assert_int_equal(Defender_FormatIpAddress(&address, text, 12), 0);
    assert_int_equal(Defender_FormatIpAddress(&address, NULL, 64), 0);
    assert_int_equal(Defender_FormatIpAddress(NULL, text, 64), 0);
    address.family = 0;
    assert_int_equal(Defender_FormatIpAddress(&address, text, 64), 0);
}

static void test_Defender_FormatRemoteAddress_Forms(void **state)
{
    DefenderIpAddress_t address;
    char text[64];

    (void) state;
    address = Parse("198.51.100.7");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 8883, text, sizeof(text)), 17);
    assert_string_equal(text, "198.51.100.7:8883");
    address = Parse("2001:db8::17");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 50122, text, sizeof(text)), 20);
    assert_string_equal(text, "[2001:db8::17]:50122");
    address = Parse("::ffff:203.0.113.9");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 0, text, sizeof(text)), 13);
    assert_string_equal(text, "203.0.113.9:0");
    address = Parse("1111:2222:3333:4444:5555:6666:7777:8888");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 65535, text, 48), 47);
    assert_string_equal(text, "[1111:2222:3333:4444:5555:6666:7777:8888]:65535");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 65535, text, 47), 0);
    address = Parse("255.255.255.255");
    assert_int_equal(Defender_FormatRemoteAddress(&address, 65535, text, 22), 21);
    address.family = 7;
    assert_int_equal(Defender_FormatRemoteAddress(&address, 1, text, sizeof(text)), 0);
    assert_int_equal(Defender_FormatRemoteAddress(NULL, 1, text, sizeof(text)), 0);
    assert_int_equal(Defender_FormatRemoteAddress(&address, 1, NULL, sizeof(text)), 0);
}

static void test_Defender_FormatIpAddress_MatchesInetNtop(void **state)
{
    DefenderIpAddress_t address;
    char ours[64];
    char glibc[INET6_ADDRSTRLEN];
    int i;
    size_t j;
    int compared = 0;

    (void) state;
    rngState = 99;
    for (i = 0; i < 200000; i++)
    {
        uint32_t zeroOdds = 1U + RandBelow(4);
        memset(&address, 0, sizeof(address));
        address.family = (RandBelow(5) == 0) ? 4 : 6;
        for (j = 0; j < 8; j++)
        {
            if (RandBelow(zeroOdds + 1U) == 0)
            {
                uint16_t group = (uint16_t) (Rand64() >> (RandBelow(4) * 4U));
                address.bytes[2U * j] = (uint8_t) (group >> 8);
                address.bytes[(2U * j) + 1U] = (uint8_t) group;
            }
        }
        if ((address.family == 6) && (RandBelow(20) == 0))
        {
            memset(address.bytes, 0, 10);
            address.bytes[10] = 0xff;
            address.bytes[11] = 0xff;
        }
        assert_true(Defender_FormatIpAddress(&address, ours, sizeof(ours)) > 0);
        assert_non_null(inet_ntop((address.family == 4) ? AF_INET : AF_INET6, address.bytes, glibc,
                                  sizeof(glibc)));
        if ((address.family == 6) && (address.bytes[12] | address.bytes[13]) != 0 &&
            memcmp(address.bytes, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0)
        {
            /* glibc prints the deprecated ::a.b.c.d form; RFC 5952 does not. */
            continue;
        }
        assert_string_equal(ours, glibc);
        compared++;
    }
    assert_true(compared > 190000);
}

static void AssertParseLikeInetPton(const char *pText)
{
    DefenderIpAddress_t address;
    uint8_t expected[16];
    bool ours = Defender_ParseIpAddress(pText, strlen(pText), &address);

    if (inet_pton(AF_INET, pText, expected) == 1)
    {
        if (!ours || (address.family != 4) || (memcmp(address.bytes, expected, 4) != 0))
        {
            fail_msg("'%s': inet_pton accepts as IPv4", pText);
        }
    }
    else if (inet_pton(AF_INET6, pText, expected) == 1)
    {
        if (!ours || (address.family != 6) || (memcmp(address.bytes, expected, 16) != 0))
        {
            fail_msg("'%s': inet_pton accepts as IPv6", pText);
        }
    }
    else if (ours)
    {
        fail_msg("'%s': inet_pton rejects, we accept", pText);
    }
}

static void test_Defender_ParseIpAddress_MatchesInetPton(void **state)
{
    static const char *const cases[] = {
        "",
        ":",
        "::",
        ":::",
        "1::2::3",
        ":1",
        "1:",
        "1::",
        "::1",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8::",
        "1::2:3:4:5:6:7:8",
        "12345::",
        "fffff::",
        "ABCD:ef01::",
        "::1.2.3.4",
        "::ffff:1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3",
        "::1.2.3.4.5",
        "::01.2.3.4",
        "::256.1.1.1",
        "1.2.3.4",
        "01.2.3.4",
        "1.2.3.04",
        "0.0.0.0",
        "255.255.255.255",
        "256.0.0.0",
        "1.2.3",
        "1.2.3.4.",
        ".1.2.3.4",
        "1..2.3",
        "1.2.3.4:80",
        "[::1]",
        "::1%eth0",
        "::1/64",
        " ::1",
        "::1 ",
        "1.2.3.4 ",
        "::ffff:1.2.3.4:1",
        "::1.2.3.4:1",
        "a::b.1.2.3.4",
        "::a.2.3.4",
        "1:2:3:4:5:6:7:8:1.2.3.4",
        "::1:2:3:4:5:6:1.2.3.4",
        "0:0:0:0:0:0:0:0:",
    };
    static const char alphabet[] = "0123456789abcdefABCDEF:.:..::g%[";
    char text[64];
    char formatted[64];
    size_t i;
    size_t j;
    DefenderIpAddress_t address;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        AssertParseLikeInetPton(cases[i]);
    }
    rngState = 2024;
    for (i = 0; i < TestScale(300000UL); i++)
    {
        size_t length = RandBelow(24);
        for (j = 0; j < length; j++)
        {
            text[j] = alphabet[RandBelow(sizeof(alphabet) - 1U)];
        }
        text[length] = '\0';
        AssertParseLikeInetPton(text);
    }
    /* Mutations of valid texts. */
    for (i = 0; i < TestScale(200000UL); i++)
    {
        memset(&address, 0, sizeof(address));
        address.family = (RandBelow(3) == 0) ? 4 : 6;
        for (j = 0; j < 16; j++)
        {
            address.bytes[j] = (RandBelow(2) == 0) ? 0 : (uint8_t) Rand64();
        }
        if (address.family == 4)
        {
            memset(&address.bytes[4], 0, 12);
        }
        assert_true(Defender_FormatIpAddress(&address, formatted, sizeof(formatted)) > 0);
        AssertParseLikeInetPton(formatted);
        {
            DefenderIpAddress_t back = Parse(formatted);
            assert_memory_equal(&back, &address, sizeof(address));
        }
        do
        {
            size_t length = strlen(formatted);
            size_t position = RandBelow((uint32_t) length + 1U);
            switch (RandBelow(3))
            {
                case 0: /* replace */
                    if (position < length)
                    {
                        formatted[position] = alphabet[RandBelow(sizeof(alphabet) - 1U)];
                    }
                    break;
                case 1: /* delete */
                    if (position < length)
                    {
                        memmove(&formatted[position], &formatted[position + 1U], length - position);
                    }
                    break;
                default: /* insert */
                    if (length < 60U)
                    {
                        memmove(&formatted[position + 1U], &formatted[position],
                                length - position + 1U);
                        formatted[position] = alphabet[RandBelow(sizeof(alphabet) - 1U)];
                    }
                    break;
            }
            AssertParseLikeInetPton(formatted);
        } while (RandBelow(2) == 0);
    }
}

static void test_Defender_ParseIpAddress_UsesLength(void **state)
{
    DefenderIpAddress_t address;

    (void) state;
    assert_true(Defender_ParseIpAddress("1.2.3.4xyz", 7, &address));
    assert_int_equal(address.family, 4);
    assert_true(Defender_ParseIpAddress("::1]:80", 3, &address));
    assert_int_equal(address.family, 6);
    assert_int_equal(address.bytes[15], 1);
    assert_false(Defender_ParseIpAddress("1.2.3.4", 6, &address));
    assert_false(Defender_ParseIpAddress("::1\0", 4, &address));
    assert_false(Defender_ParseIpAddress(NULL, 0, &address));
    assert_true(Defender_ParseIpAddress("::", 2, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_Defender_FormatIpAddress_Rfc5952),
        cmocka_unit_test(test_Defender_FormatIpAddress_BufferAndFamily),
        cmocka_unit_test(test_Defender_FormatRemoteAddress_Forms),
        cmocka_unit_test(test_Defender_FormatIpAddress_MatchesInetNtop),
        cmocka_unit_test(test_Defender_ParseIpAddress_MatchesInetPton),
        cmocka_unit_test(test_Defender_ParseIpAddress_UsesLength),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
