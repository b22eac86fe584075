/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* src/event-fields.c: the table's lookups, an EventRecord's values, and
 * their journal string form in both directions (event_value_format(),
 * event_value_parse(): what filelesslockctl reads back). */

#include <errno.h>
#include <stdint.h>

#include "event-fields.h"
#include "tests.h"

/* ---- The table, the record and the values' string form ---- */

static void test_field_lookup(void) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                ASSERT_INT_EQ(event_field_from_journal(event_field_table[f].journal), f);
                ASSERT_INT_EQ(event_field_from_bus(event_field_table[f].bus), f);
        }
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_UID"), EVENT_UID);
        ASSERT_INT_EQ(event_field_from_bus("PPid"), EVENT_PPID);
        /* the rows 4a6569f and 568e4a2 added */
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_OPERATION"), EVENT_OPERATION);
        ASSERT_INT_EQ(event_field_from_bus("Operation"), EVENT_OPERATION);
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_PROGRAM"), EVENT_PROGRAM);
        ASSERT_INT_EQ(event_field_from_bus("Program"), EVENT_PROGRAM);
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_SCOPE"), EVENT_SCOPE);
        ASSERT_INT_EQ(event_field_from_bus("Scope"), EVENT_SCOPE);
        ASSERT_INT_EQ(event_field_table[EVENT_OPERATION].type, EVENT_TYPE_STRING);
        ASSERT_INT_EQ(event_field_table[EVENT_PROGRAM].type, EVENT_TYPE_STRING);
        ASSERT_INT_EQ(event_field_table[EVENT_SCOPE].type, EVENT_TYPE_STRING);
        /* a scope is named only when one decided; the others are always there */
        ASSERT_TRUE(event_field_table[EVENT_SCOPE].optional);
        ASSERT_FALSE(event_field_table[EVENT_OPERATION].optional);
        ASSERT_FALSE(event_field_table[EVENT_PROGRAM].optional);
        ASSERT_INT_EQ(event_field_from_journal("MESSAGE"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_journal("fileless_uid"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_journal("FILELESS_UID "), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_journal(""), _EVENT_FIELD_INVALID);
        /* the two name spaces do not mix */
        ASSERT_INT_EQ(event_field_from_journal("Uid"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_bus("FILELESS_UID"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_bus("uid"), _EVENT_FIELD_INVALID);
        ASSERT_INT_EQ(event_field_from_bus(""), _EVENT_FIELD_INVALID);

        ASSERT_INT_EQ(event_type_bus_signature(EVENT_TYPE_STRING), 's');
        ASSERT_INT_EQ(event_type_bus_signature(EVENT_TYPE_U32), 'u');
        ASSERT_INT_EQ(event_type_bus_signature(EVENT_TYPE_U64), 't');
        ASSERT_INT_EQ(event_type_bus_signature(EVENT_TYPE_BOOL), 'b');
        ASSERT_INT_EQ(event_type_bus_signature(EVENT_TYPE_DEVICE), 't');
        ASSERT_INT_EQ(event_type_bus_signature(_EVENT_TYPE_MAX), 0);
        ASSERT_INT_EQ(event_type_bus_signature((EventFieldType) -1), 0);
}

static void test_record_set_and_get(void) {
        EventRecord r = {};
        uint64_t v = 0;

        ASSERT_NULL(event_record_string(&r, EVENT_COMM));
        ASSERT_FALSE(event_record_number(&r, EVENT_PID, &v));

        /* strings are escaped and cut at MAXLEN */
        ASSERT_INT_EQ(event_record_set_string(&r, EVENT_COMM, "a\nb\"cdef", 5), 0);
        ASSERT_STREQ(event_record_string(&r, EVENT_COMM), "a\\nb\\\"c");
        ASSERT_TRUE(r.values[EVENT_COMM].set);
        /* a second value replaces the first (LSan: freed) */
        ASSERT_INT_EQ(event_record_set_string(&r, EVENT_COMM, "bash", SIZE_MAX), 0);
        ASSERT_STREQ(event_record_string(&r, EVENT_COMM), "bash");
        /* a string field has no number */
        ASSERT_FALSE(event_record_number(&r, EVENT_COMM, &v));

        event_record_set_number(&r, EVENT_PID, 42);
        ASSERT_TRUE(event_record_number(&r, EVENT_PID, &v));
        ASSERT_INT_EQ(v, 42);
        event_record_set_number(&r, EVENT_INODE, UINT64_MAX);
        ASSERT_TRUE(event_record_number(&r, EVENT_INODE, &v));
        ASSERT_TRUE(v == UINT64_MAX);

        event_record_done(&r);
        ASSERT_NULL(event_record_string(&r, EVENT_COMM));
        ASSERT_FALSE(event_record_number(&r, EVENT_PID, &v));
}

static void assert_format(const EventRecord *r, EventField f, const char *expected) {
        char *s = NULL;

        ASSERT_INT_EQ(event_value_format(r, f, &s), 0);
        ASSERT_STREQ(s, expected);
        free(s);
}

/* VALUE parses for field F to what formats back as VALUE. */
static void assert_parse_round_trip(EventField f, const char *value) {
        EventRecord r = {};

        if (event_value_parse(&r, f, value) != 0)
                TEST_FAIL("%s: \"%s\" refused", event_field_table[f].journal, value);
        ASSERT_TRUE(r.values[f].set);
        assert_format(&r, f, value);
        event_record_done(&r);
}

/* VALUE is refused for field F, and leaves what was there alone. */
static void assert_parse_refused(EventField f, const char *value) {
        EventRecord r = {};
        int k;

        event_record_set_number(&r, f, 7);
        k = event_value_parse(&r, f, value);
        if (k != -EINVAL)
                TEST_FAIL("%s: \"%s\" gave %d, expected -EINVAL", event_field_table[f].journal, value, k);
        ASSERT_TRUE(r.values[f].set);
        ASSERT_INT_EQ(r.values[f].num, 7);
        event_record_done(&r);
}

static void test_value_format(void) {
        EventRecord r = {};

        /* an unset string formats as empty */
        assert_format(&r, EVENT_COMM, "");
        ASSERT_INT_EQ(event_record_set_string(&r, EVENT_COMM, "a\"b", SIZE_MAX), 0);
        assert_format(&r, EVENT_COMM, "a\\\"b");
        event_record_set_number(&r, EVENT_PID, UINT32_MAX);
        assert_format(&r, EVENT_PID, "4294967295");
        event_record_set_number(&r, EVENT_INODE, UINT64_MAX);
        assert_format(&r, EVENT_INODE, "18446744073709551615");
        event_record_set_number(&r, EVENT_SCRIPT, 1);
        assert_format(&r, EVENT_SCRIPT, "1");
        event_record_set_number(&r, EVENT_SCRIPT, 0);
        assert_format(&r, EVENT_SCRIPT, "0");
        event_record_set_number(&r, EVENT_DEVICE, ((uint64_t) 4095 << 20) | 1048575);
        assert_format(&r, EVENT_DEVICE, "4095:1048575");
        event_record_set_number(&r, EVENT_DEVICE, 0);
        assert_format(&r, EVENT_DEVICE, "0:0");
        event_record_done(&r);
}

static void test_value_parse(void) {
        EventRecord r = {};
        uint64_t v = 0;

        /* strings are taken as the daemon wrote them, escaped already */
        ASSERT_INT_EQ(event_value_parse(&r, EVENT_COMM, "a\\nb\\\"c"), 0);
        ASSERT_STREQ(event_record_string(&r, EVENT_COMM), "a\\nb\\\"c");
        ASSERT_INT_EQ(event_value_parse(&r, EVENT_COMM, ""), 0);
        ASSERT_STREQ(event_record_string(&r, EVENT_COMM), "");
        ASSERT_TRUE(r.values[EVENT_COMM].set);

        ASSERT_INT_EQ(event_value_parse(&r, EVENT_DEVICE, "259:65537"), 0);
        ASSERT_TRUE(event_record_number(&r, EVENT_DEVICE, &v));
        ASSERT_INT_EQ(v, ((uint64_t) 259 << 20) | 65537);
        event_record_done(&r);

        assert_parse_round_trip(EVENT_PID, "0");
        assert_parse_round_trip(EVENT_PID, "1234");
        assert_parse_round_trip(EVENT_PID, "4294967295");
        assert_parse_round_trip(EVENT_PID_NAMESPACE_LEVEL, "32");
        assert_parse_round_trip(EVENT_INODE, "0");
        assert_parse_round_trip(EVENT_INODE, "18446744073709551615");
        assert_parse_round_trip(EVENT_TIMESTAMP, "1700000000123456");
        assert_parse_round_trip(EVENT_SCRIPT, "0");
        assert_parse_round_trip(EVENT_SCRIPT, "1");
        assert_parse_round_trip(EVENT_DEVICE, "0:0");
        assert_parse_round_trip(EVENT_DEVICE, "8:1");
        assert_parse_round_trip(EVENT_DEVICE, "4095:1048575");
        assert_parse_round_trip(EVENT_COMM, "x\\x1by");
        assert_parse_round_trip(EVENT_OPERATION, "mprotect");
        assert_parse_round_trip(EVENT_PROGRAM, "python3.12");
        /* a scope removed since the event: named by its id */
        assert_parse_round_trip(EVENT_SCOPE, "#7");

        /* a forged or foreign entry: refused, not read as something else */
        static const char *const not_numbers[] = {
                "", "-1", "+1", " 1", "1 ", "01", "00", "1x", "0x10", "1e3", "1.0", "١", "\n1",
        };
        for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++) {
                assert_parse_refused(EVENT_PID, not_numbers[i]);
                assert_parse_refused(EVENT_INODE, not_numbers[i]);
                assert_parse_refused(EVENT_SCRIPT, not_numbers[i]);
        }
        assert_parse_refused(EVENT_PID, "4294967296");
        assert_parse_refused(EVENT_UID, "99999999999");
        assert_parse_refused(EVENT_INODE, "18446744073709551616");
        assert_parse_refused(EVENT_INODE, "99999999999999999999");
        assert_parse_refused(EVENT_SCRIPT, "10");
        assert_parse_refused(EVENT_SCRIPT, "true");
        assert_parse_refused(EVENT_SCRIPT, "yes");

        static const char *const not_devices[] = {
                "", "1", "1:", ":1", ":", "1:2:3", "4096:0", "0:1048576", "a:b", " 1:2", "1:2 ", "1: 2", "-1:2",
                "1:-2", "01:2", "1:02", "259", "259/1", "4294967296:0",
        };
        for (size_t i = 0; i < sizeof(not_devices) / sizeof(not_devices[0]); i++)
                assert_parse_refused(EVENT_DEVICE, not_devices[i]);
}

/* parse_uint64() (src/util.h) checked "n > (max - digit) / 10": with MAX
 * below 9 the subtraction wrapped for a larger digit and the check passed,
 * so the only type with such a maximum, the boolean FILELESS_SCRIPT=, took
 * any number whose digits after the first were all 2 or more ("2", "12",
 * "47", long ones wrapping uint64_t). Fixed in 672f029: each digit is
 * bounded by MAX too. */
static void test_value_parse_bool_digits(void) {
        static const char *const values[] = {
                "2", "3", "4", "5", "6", "7", "8", "9", "12", "47", "1999", "22222222222222222222222",
        };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
                assert_parse_refused(EVENT_SCRIPT, values[i]);
        /* and the fix refuses nothing more */
        assert_parse_round_trip(EVENT_SCRIPT, "0");
        assert_parse_round_trip(EVENT_SCRIPT, "1");
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_field_lookup);
        TEST(test_record_set_and_get);
        TEST(test_value_format);
        TEST(test_value_parse);
        TEST(test_value_parse_bool_digits);
        return test_finish();
}
