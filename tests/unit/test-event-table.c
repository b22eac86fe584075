/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The one table of event fields (src/event-fields.c) against its consumers:
 * fails when a row drifts from what the journal, D-Bus and filelesslockctl
 * rely on. Every row has a unique journal name FILELESS_..., a unique D-Bus
 * key and a valid type; journal_fields_from_event() emits exactly the fields
 * a record has; bus_event_append() then bus_event_read() and
 * event_value_format() then event_value_parse() give back the same record,
 * for every field and every type. */

#include <errno.h>
#include <syslog.h>

#include "bus-event.h"
#include "event-fields.h"
#include "journal.h"
#include "message-ids.h"
#include "test-bus.h"
#include "tests.h"

static bool journal_name_valid(const char *s) {
        size_t n = strlen(s);

        /* journald's rules: [A-Z0-9_], not starting with a digit or '_', at
         * most 64 characters */
        if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9') || s[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static bool bus_key_valid(const char *s) {
        if (!(s[0] >= 'A' && s[0] <= 'Z'))
                return false;
        for (; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

static void test_table_rows(void) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                const EventFieldInfo *info = &event_field_table[f];

                if (!info->journal || !info->bus || !info->description)
                        TEST_FAIL("row %d is incomplete (journal %s, bus %s)", f, info->journal ?: "NULL",
                                  info->bus ?: "NULL");
                if (!startswith(info->journal, "FILELESS_") || !journal_name_valid(info->journal) ||
                    strlen(info->journal) == strlen("FILELESS_"))
                        TEST_FAIL("row %d: \"%s\" is no FILELESS_ journal field name", f, info->journal);
                if (!bus_key_valid(info->bus))
                        TEST_FAIL("row %d: \"%s\" is no D-Bus key in the interface's style", f, info->bus);
                if (info->type < 0 || info->type >= _EVENT_TYPE_MAX || !event_type_bus_signature(info->type))
                        TEST_FAIL("row %s: type %d", info->journal, info->type);
                ASSERT_TRUE(strlen(info->description) > 0);

                /* Raw members are read from struct fl_event as read_raw() can. */
                if (!info->get) {
                        if (info->size == 0 || info->offset + info->size > sizeof(struct fl_event))
                                TEST_FAIL("row %s: member at %zu, %zu bytes", info->journal, info->offset, info->size);
                        if (info->type != EVENT_TYPE_STRING && info->size != 1 && info->size != 4 && info->size != 8)
                                TEST_FAIL("row %s: a number of %zu bytes", info->journal, info->size);
                        if (info->type == EVENT_TYPE_U32 && info->size > 4)
                                TEST_FAIL("row %s: a u32 from %zu bytes", info->journal, info->size);
                }

                for (EventField g = 0; g < f; g++) {
                        if (strcmp(info->journal, event_field_table[g].journal) == 0)
                                TEST_FAIL("rows %d and %d are both %s", g, f, info->journal);
                        if (strcmp(info->bus, event_field_table[g].bus) == 0)
                                TEST_FAIL("rows %d and %d are both %s", g, f, info->bus);
                }
                /* the lookups find the row */
                ASSERT_INT_EQ(event_field_from_journal(info->journal), f);
                ASSERT_INT_EQ(event_field_from_bus(info->bus), f);
        }
}

/* Non-optional fields are there for any record, even all zeros without a
 * context; optional ones exactly when there is something to say. */
static void test_table_optional(void) {
        struct fl_event e = {};
        EventContext ctx = { .realtime_usec = 1, .shm_dir = "/dev/shm", .unit = "u.service", .user_unit = "v.service",
                             .scope = "w.slice" };
        EventRecord r;

        ASSERT_INT_EQ(event_record_from_kernel(&e, NULL, &r), 0);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                if (r.values[f].set == event_field_table[f].optional)
                        TEST_FAIL("%s is %s for an empty record", event_field_table[f].journal,
                                  r.values[f].set ? "set" : "missing");
        event_record_done(&r);

        strcpy(e.comm, "c");
        strcpy(e.exec_comm, "x");
        ASSERT_INT_EQ(event_record_from_kernel(&e, &ctx, &r), 0);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                if (!r.values[f].set)
                        TEST_FAIL("%s is missing for a record that has everything", event_field_table[f].journal);
        event_record_done(&r);

        /* the optional ones are exactly these four */
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                if (event_field_table[f].optional !=
                    (f == EVENT_EXEC_COMM || f == EVENT_UNIT || f == EVENT_USER_UNIT || f == EVENT_SCOPE))
                        TEST_FAIL("%s is %soptional", event_field_table[f].journal,
                                  event_field_table[f].optional ? "" : "not ");
}

/* A record with every field set to a value of its type, which VARIANT
 * varies (0: ordinary values, 1: the extremes). */
static void record_all(EventRecord *r, int variant) {
        *r = (EventRecord) { .priority = LOG_WARNING };
        r->message = strdup("message");
        ASSERT_NOT_NULL(r->message);

        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                char s[128];

                switch (event_field_table[f].type) {
                case EVENT_TYPE_STRING:
                        /* as the record holds them: escaped already */
                        snprintf(s, sizeof(s), "%s%s", event_field_table[f].bus,
                                 variant ? " caf\xc3\xa9 \\x1b\\n\\\"\\u202e \xf0\x9f\x98\x80" : "");
                        r->values[f] = (EventValue) { .set = true, .str = strdup(s) };
                        ASSERT_NOT_NULL(r->values[f].str);
                        break;
                case EVENT_TYPE_U32:
                        event_record_set_number(r, f, variant ? UINT32_MAX : 1000 + (uint64_t) f);
                        break;
                case EVENT_TYPE_U64:
                        event_record_set_number(r, f, variant ? UINT64_MAX : ((uint64_t) 1 << 40) + f);
                        break;
                case EVENT_TYPE_BOOL:
                        event_record_set_number(r, f, !variant);
                        break;
                case EVENT_TYPE_DEVICE:
                        /* the kernel's encoding: 12-bit major, 20-bit minor */
                        event_record_set_number(r, f, variant ? ((uint64_t) 4095 << 20) | 1048575
                                                              : ((uint64_t) 259 << 20) | 65537);
                        break;
                default:
                        TEST_FAIL("row %d: unknown type", f);
                }
        }
}

static void assert_same_values(const EventRecord *a, const EventRecord *b, const char *how) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                const EventValue *x = &a->values[f], *y = &b->values[f];

                if (x->set != y->set)
                        TEST_FAIL("%s: %s is %s, was %s", how, event_field_table[f].journal, y->set ? "set" : "unset",
                                  x->set ? "set" : "unset");
                if (!x->set)
                        continue;
                if (event_field_table[f].type == EVENT_TYPE_STRING) {
                        if (!y->str || strcmp(x->str, y->str) != 0)
                                TEST_FAIL("%s: %s is \"%s\", was \"%s\"", how, event_field_table[f].journal,
                                          y->str ?: "(null)", x->str);
                } else if (x->num != y->num)
                        TEST_FAIL("%s: %s is %" PRIu64 ", was %" PRIu64, how, event_field_table[f].journal, y->num,
                                  x->num);
        }
}

/* Exactly one FILELESS_ field per set field, with event_value_format()'s
 * value, after MESSAGE, MESSAGE_ID, PRIORITY and OBJECT_PID. */
static void assert_journal_fields(const EventRecord *r) {
        JournalFields f = {};
        size_t n_set = 0, i = 4;
        char *expected;

        ASSERT_INT_EQ(journal_fields_from_event(r, &f), 0);
        ASSERT_TRUE(f.n >= 4);
        ASSERT_STARTSWITH(f.v[0], "MESSAGE=");
        ASSERT_STREQ(f.v[1], "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC);
        ASSERT_STARTSWITH(f.v[2], "PRIORITY=");
        ASSERT_STARTSWITH(f.v[3], "OBJECT_PID=");
        for (EventField k = 0; k < _EVENT_FIELD_MAX; k++) {
                char *value = NULL;

                if (!r->values[k].set) {
                        for (size_t j = 0; j < f.n; j++)
                                if (startswith(f.v[j], event_field_table[k].journal) &&
                                    f.v[j][strlen(event_field_table[k].journal)] == '=')
                                        TEST_FAIL("%s is unset but in the journal entry", event_field_table[k].journal);
                        continue;
                }
                n_set++;
                ASSERT_INT_EQ(event_value_format(r, k, &value), 0);
                ASSERT_TRUE(asprintf(&expected, "%s=%s", event_field_table[k].journal, value) > 0);
                if (i >= f.n)
                        TEST_FAIL("%s is missing from the journal entry", event_field_table[k].journal);
                ASSERT_STREQ(f.v[i], expected);
                i++;
                free(expected);
                free(value);
        }
        ASSERT_INT_EQ(f.n, 4 + n_set);
        journal_fields_done(&f);
}

/* What filelesslockctl does with a journal entry: each FILELESS_ field back
 * into a record, by name, through event_value_parse(). */
static void assert_journal_round_trip(const EventRecord *r) {
        JournalFields f = {};
        EventRecord back = {};

        ASSERT_INT_EQ(journal_fields_from_event(r, &f), 0);
        for (size_t i = 4; i < f.n; i++) {
                char *name = strndup(f.v[i], strcspn(f.v[i], "="));
                EventField k;

                ASSERT_NOT_NULL(name);
                k = event_field_from_journal(name);
                if (k < 0)
                        TEST_FAIL("%s is in no row", name);
                if (event_value_parse(&back, k, f.v[i] + strlen(name) + 1) != 0)
                        TEST_FAIL("\"%s\" does not parse back", f.v[i]);
                free(name);
        }
        assert_same_values(r, &back, "journal");
        event_record_done(&back);
        journal_fields_done(&f);
}

/* The record as the Event signal carries it, read back as filelesslockctl
 * does. */
static void assert_bus_round_trip(const EventRecord *r) {
        sd_bus_message *m = test_bus_signal();
        EventRecord back = {};

        ASSERT_OK(bus_event_append(m, r));
        test_bus_seal(m);
        ASSERT_OK(bus_event_read(m, &back));
        ASSERT_TRUE(sd_bus_message_at_end(m, true) > 0);
        assert_same_values(r, &back, "D-Bus");
        event_record_done(&back);
        sd_bus_message_unref(m);
}

static void test_table_journal(void) {
        for (int variant = 0; variant < 2; variant++) {
                EventRecord r;

                record_all(&r, variant);
                assert_journal_fields(&r);
                /* each field left out in turn */
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                        r.values[f].set = false;
                        assert_journal_fields(&r);
                        r.values[f].set = true;
                }
                /* and none at all */
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                        r.values[f].set = false;
                assert_journal_fields(&r);
                event_record_done(&r);
        }
}

static void test_table_journal_round_trip(void) {
        for (int variant = 0; variant < 2; variant++) {
                EventRecord r;

                record_all(&r, variant);
                assert_journal_round_trip(&r);
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                        r.values[f].set = false;
                        assert_journal_round_trip(&r);
                        r.values[f].set = true;
                }
                event_record_done(&r);
        }
}

static void test_table_bus_round_trip(void) {
        for (int variant = 0; variant < 2; variant++) {
                EventRecord r;

                record_all(&r, variant);
                assert_bus_round_trip(&r);
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                        r.values[f].set = false;
                        assert_bus_round_trip(&r);
                        r.values[f].set = true;
                }
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                        r.values[f].set = false;
                assert_bus_round_trip(&r);
                event_record_done(&r);
        }
        test_bus_free();
}

/* The same three for what the daemon makes of a real record. */
static void test_table_kernel_record(void) {
        struct fl_event e = {
                .boot_ns = 1, .inode = 12345, .dev = ((uint64_t) 8 << 20) | 3, .cgroup_id = 77, .pidns = 4026531836U,
                .pidns_level = 1, .pid = 4242, .ppid = 1, .uid = 1000, .gid = 1000, .flags = FL_EVENT_SCRIPT,
                .kind = FL_KIND_SHM, .action = FL_ACTION_KILL_FAILED, .profile = FL_PROFILE_RESTRICTED,
                .backend = FL_BACKEND_TRACEPOINT, .op = FL_OP_MPROTECT, .scope_id = 9, .prog_inode = 5,
                .prog_dev = 7,
        };
        EventContext ctx = { .realtime_usec = 1700000000000000ULL, .shm_dir = "/dev/shm",
                             .unit = "user@1000.service", .user_unit = "app\xe2\x80\xae.service",
                             .scope = "user-1000.slice" };
        EventRecord r;

        strcpy(e.comm, "sh\n");
        strcpy(e.exec_comm, "x\"y");
        strcpy(e.parent_comm, "\xc2\x85");
        strcpy(e.program, "ld.so\"");
        strcpy(e.name, "run\\me");
        strcpy(e.path, "/dev/shm/run\\me");
        ASSERT_INT_EQ(event_record_from_kernel(&e, &ctx, &r), 0);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                ASSERT_TRUE(r.values[f].set);
        assert_journal_fields(&r);
        assert_journal_round_trip(&r);
        assert_bus_round_trip(&r);
        event_record_done(&r);
        test_bus_free();
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_table_rows);
        TEST(test_table_optional);
        TEST(test_table_journal);
        TEST(test_table_journal_round_trip);
        TEST(test_table_bus_round_trip);
        TEST(test_table_kernel_record);
        return test_finish();
}
