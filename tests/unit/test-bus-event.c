/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* src/bus-event.c: the Event signal's a{sv} as a listener reads it, its
 * decoding by bus_event_read() (what filelesslockctl monitor does), and the
 * InvalidArgs error of SetProfile(). */

#include <errno.h>
#include <sys/sysmacros.h>

#include "bus-event.h"
#include "event-fields.h"
#include "names.h"
#include "test-bus.h"
#include "tests.h"
#include "util.h"

/* The keys of the Event signal and their types, written from the
 * introspection XML; not taken from event_field_table[]. A key renamed or
 * retyped there breaks every listener: this list catches it. A key added is
 * not a break: the table and the documentation carry it. */
static const struct {
        const char *key;
        char type;
        bool optional;
} documented_keys[] = {
        { "Timestamp", 't' },
        { "Action", 's' },
        { "Operation", 's' },
        { "Kind", 's' },
        { "Profile", 's' },
        { "Scope", 's', true },
        { "Backend", 's' },
        { "Script", 'b' },
        { "Pid", 'u' },
        { "PPid", 'u' },
        { "Uid", 'u' },
        { "Gid", 'u' },
        { "Comm", 's' },
        { "ExecComm", 's', true },
        { "ParentComm", 's' },
        { "Program", 's' },
        { "FileName", 's' },
        { "ExecPath", 's' },
        { "Inode", 't' },
        { "Device", 't' },
        { "PidNamespace", 't' },
        { "PidNamespaceLevel", 'u' },
        { "CgroupId", 't' },
        { "Unit", 's', true },
        { "UserUnit", 's', true },
};
#define N_KEYS (sizeof(documented_keys) / sizeof(documented_keys[0]))

static struct fl_event sample_event(void) {
        struct fl_event e = {
                .boot_ns = 5,
                .inode = 4242424242ULL,
                .dev = ((uint64_t) 259 << 20) | 65537,
                .cgroup_id = 987654321012ULL,
                .pidns = 4026531836U,
                .pidns_level = 2,
                .pid = 1234,
                .ppid = 1000,
                .uid = 1001,
                .gid = 100,
                .flags = FL_EVENT_SCRIPT,
                .kind = FL_KIND_MEMFD,
                .action = FL_ACTION_KILLED,
                .profile = FL_PROFILE_RESTRICTED,
                .backend = FL_BACKEND_TRACEPOINT,
                .op = FL_OP_MMAP,
                .scope_id = 4,
        };

        strcpy(e.comm, "bash\n");
        strcpy(e.program, "python3\"");
        strcpy(e.exec_comm, "3");
        strcpy(e.parent_comm, "sshd");
        strcpy(e.name, "memfd:\"x\"");
        strcpy(e.path, "/proc/self/fd/3");
        return e;
}

/* Reads the sealed signal M key by key, as a listener that knows only the
 * documentation would, and checks each value against E and CTX. */
static void check_signal(sd_bus_message *m, const struct fl_event *e, const EventContext *ctx) {
        unsigned seen[N_KEYS] = {};
        int r;

        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                size_t k;
                char type;

                ASSERT_OK(sd_bus_message_read(m, "s", &key));
                for (k = 0; k < N_KEYS && strcmp(documented_keys[k].key, key) != 0; k++)
                        ;
                /* A key added since is the table's business, and the
                 * documentation's (tests/doc-fields.py): a listener that knows
                 * the keys here skips it. */
                if (k == N_KEYS) {
                        ASSERT_TRUE(event_field_from_bus(key) >= 0);
                        ASSERT_OK(sd_bus_message_skip(m, "v"));
                        ASSERT_OK(sd_bus_message_exit_container(m));
                        continue;
                }
                seen[k]++;
                ASSERT_OK(sd_bus_message_peek_type(m, &type, &contents));
                ASSERT_INT_EQ(type, 'v');
                if (contents[0] != documented_keys[k].type || contents[1] != 0)
                        TEST_FAIL("key %s has type %s, documented %c", key, contents, documented_keys[k].type);

                if (documented_keys[k].type == 's') {
                        const char *v;

                        ASSERT_OK(sd_bus_message_read(m, "v", "s", &v));
                        assert_text(key, v);
                        if (streq(key, "Comm"))
                                ASSERT_STREQ(v, "bash\\n");
                        else if (streq(key, "FileName"))
                                ASSERT_STREQ(v, "memfd:\\\"x\\\"");
                        else if (streq(key, "Action"))
                                ASSERT_STREQ(v, "killed");
                        else if (streq(key, "Operation"))
                                ASSERT_STREQ(v, "mmap");
                        else if (streq(key, "Program"))
                                ASSERT_STREQ(v, "python3\\\"");
                        else if (streq(key, "Scope"))
                                ASSERT_STREQ(v, ctx->scope);
                        else if (streq(key, "ExecComm"))
                                ASSERT_STREQ(v, "3");
                        else if (streq(key, "Unit"))
                                ASSERT_STREQ(v, ctx->unit);
                        else if (streq(key, "UserUnit"))
                                ASSERT_STREQ(v, "app\\u202e.service");
                } else if (documented_keys[k].type == 'b') {
                        int v;

                        ASSERT_OK(sd_bus_message_read(m, "v", "b", &v));
                        ASSERT_INT_EQ(v, 1);
                } else if (documented_keys[k].type == 'u') {
                        uint32_t v;

                        ASSERT_OK(sd_bus_message_read(m, "v", "u", &v));
                        if (streq(key, "Pid"))
                                ASSERT_INT_EQ(v, e->pid);
                        else if (streq(key, "PPid"))
                                ASSERT_INT_EQ(v, e->ppid);
                        else if (streq(key, "PidNamespaceLevel"))
                                ASSERT_INT_EQ(v, e->pidns_level);
                } else {
                        uint64_t v;

                        ASSERT_OK(sd_bus_message_read(m, "v", "t", &v));
                        if (streq(key, "Device"))
                                /* "encoded as stat(2) returns it in st_dev" */
                                ASSERT_TRUE(v == makedev(259, 65537));
                        else if (streq(key, "Inode"))
                                ASSERT_TRUE(v == e->inode);
                        else if (streq(key, "Timestamp"))
                                ASSERT_TRUE(v == ctx->realtime_usec);
                        else if (streq(key, "CgroupId"))
                                ASSERT_TRUE(v == e->cgroup_id);
                }
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        ASSERT_OK(sd_bus_message_exit_container(m));
        for (size_t k = 0; k < N_KEYS; k++)
                if (seen[k] != 1)
                        TEST_FAIL("key %s appears %u times", documented_keys[k].key, seen[k]);
}

static void test_signal_keys(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .realtime_usec = 1700000000000001ULL, .unit = "user@1000.service",
                             .user_unit = "app\xe2\x80\xae.service", .scope = "user.slice" };
        sd_bus_message *m = test_bus_signal();
        EventRecord r;

        ASSERT_INT_EQ(event_record_from_kernel(&e, &ctx, &r), 0);
        ASSERT_OK(bus_event_append(m, &r));
        test_bus_seal(m);
        check_signal(m, &e, &ctx);
        sd_bus_message_unref(m);
        event_record_done(&r);
        test_bus_free();
}

/* Without exec comm, unit, user unit and scope, those keys are left out, and
 * only they. */
static void test_signal_optional_keys(void) {
        struct fl_event e = sample_event();
        sd_bus_message *m = test_bus_signal();
        EventRecord r;
        const char *key;
        unsigned n = 0;
        int k;

        e.exec_comm[0] = 0;
        ASSERT_INT_EQ(event_record_from_kernel(&e, NULL, &r), 0);
        ASSERT_OK(bus_event_append(m, &r));
        test_bus_seal(m);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                ASSERT_OK(sd_bus_message_read(m, "s", &key));
                for (size_t i = 0; i < N_KEYS; i++)
                        if (streq(documented_keys[i].key, key))
                                ASSERT_FALSE(documented_keys[i].optional);
                ASSERT_TRUE(event_field_from_bus(key) >= 0);
                ASSERT_FALSE(event_field_table[event_field_from_bus(key)].optional);
                ASSERT_OK(sd_bus_message_skip(m, "v"));
                ASSERT_OK(sd_bus_message_exit_container(m));
                n++;
        }
        ASSERT_OK(k);
        /* Every key that is always there, and none other. */
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                n -= !event_field_table[f].optional;
        ASSERT_INT_EQ(n, 0);
        sd_bus_message_unref(m);
        event_record_done(&r);
        test_bus_free();
}

/* A signal written by hand, as another (newer, older or hostile) sender
 * might; *RET is what bus_event_read() makes of it. */
static int read_handmade(int (*fill)(sd_bus_message *m), EventRecord *ret) {
        sd_bus_message *m = test_bus_signal();
        int r;

        ASSERT_OK(fill(m));
        test_bus_seal(m);
        *ret = (EventRecord) {};
        r = bus_event_read(m, ret);
        sd_bus_message_unref(m);
        return r;
}

static int fill_with_unknown_keys(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 5,
                                     "Future", "as", 2, "a", "b",
                                     "Pid", "u", 42,
                                     "Comm", "s", "sh",
                                     "Nested", "v", "t", (uint64_t) 1,
                                     "Script", "b", 0);
}

static int fill_empty(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 0);
}

static int fill_pid_as_string(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 2, "Comm", "s", "sh", "Pid", "s", "42");
}

static int fill_comm_as_number(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "Comm", "u", 1);
}

static int fill_device_as_u32(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "Device", "u", 1);
}

static int fill_script_as_u32(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 1, "Script", "u", 1);
}

static int fill_not_a_dict(sd_bus_message *m) {
        return sd_bus_message_append(m, "s", "Pid");
}

static int fill_device(sd_bus_message *m) {
        return sd_bus_message_append(m, "a{sv}", 2, "Device", "t", (uint64_t) makedev(4095, 1048575), "Inode", "t",
                                     UINT64_MAX);
}

static void test_read_unknown_keys(void) {
        EventRecord r;
        uint64_t v = 0;

        /* a newer daemon may send more: skipped, the rest is read */
        ASSERT_OK(read_handmade(fill_with_unknown_keys, &r));
        ASSERT_TRUE(event_record_number(&r, EVENT_PID, &v));
        ASSERT_INT_EQ(v, 42);
        ASSERT_STREQ(event_record_string(&r, EVENT_COMM), "sh");
        ASSERT_TRUE(event_record_number(&r, EVENT_SCRIPT, &v));
        ASSERT_INT_EQ(v, 0);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                ASSERT_INT_EQ(r.values[f].set, f == EVENT_PID || f == EVENT_COMM || f == EVENT_SCRIPT);
        event_record_done(&r);

        ASSERT_OK(read_handmade(fill_empty, &r));
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                ASSERT_FALSE(r.values[f].set);
        event_record_done(&r);

        ASSERT_OK(read_handmade(fill_device, &r));
        ASSERT_TRUE(event_record_number(&r, EVENT_DEVICE, &v));
        /* back to the kernel's encoding */
        ASSERT_INT_EQ(v, ((uint64_t) 4095 << 20) | 1048575);
        ASSERT_TRUE(event_record_number(&r, EVENT_INODE, &v));
        ASSERT_TRUE(v == UINT64_MAX);
        event_record_done(&r);
        test_bus_free();
}

static void test_read_wrong_types(void) {
        int (*const fills[])(sd_bus_message *) = {
                fill_pid_as_string, fill_comm_as_number, fill_device_as_u32, fill_script_as_u32,
        };
        EventRecord r;

        /* a known key with another type is an error, not a guess (and what was
         * read before it is freed: LSan) */
        for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
                ASSERT_INT_EQ(read_handmade(fills[i], &r), -EBADMSG);
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                        ASSERT_FALSE(r.values[f].set);
        }
        ASSERT_TRUE(read_handmade(fill_not_a_dict, &r) < 0);
        test_bus_free();
}

/* ---- bus_error_invalid_profile() ---- */

static void assert_invalid_profile(const char *value, const char *shown) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *expected;

        ASSERT_INT_EQ(bus_error_invalid_profile(&error, value), -EINVAL);
        ASSERT_TRUE(sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS));
        ASSERT_TRUE(asprintf(&expected, "Invalid profile \"%s\": valid profiles are allow (or its aliases none, "
                                        "privileged), baseline, restricted.", shown) > 0);
        ASSERT_STREQ(error.message, expected);
        assert_text("InvalidArgs message", error.message);
        free(expected);
        sd_bus_error_free(&error);
}

static void test_invalid_profile(void) {
        char value[200], shown[200];

        assert_invalid_profile("Restricted", "Restricted");
        assert_invalid_profile("", "");
        /* quoted: the value's quotes cannot end the quote */
        assert_invalid_profile("a\" or \"b", "a\\\" or \\\"b");
        assert_invalid_profile("\\", "\\\\");
        assert_invalid_profile("x\n\x1b[2J\xc2\x9b\xe2\x80\xae\xef\xbf\xbe",
                               "x\\n\\x1b[2J\\u009b\\u202e\\xef\\xbf\\xbe");

        /* cut after 64 bytes with "...", not at 63 or 65 */
        memset(value, 'v', 64);
        value[64] = 0;
        assert_invalid_profile(value, value);
        value[64] = 'w', value[65] = 0;
        memset(shown, 'v', 64);
        strcpy(shown + 64, "...");
        assert_invalid_profile(value, shown);
        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = 0;
        assert_invalid_profile(value, shown);

        /* the cut may split a sequence: its bytes are escaped, and what is
         * shown unescapes to the value's first 64 bytes */
        memset(value, 'v', 63);
        strcpy(value + 63, "\xc3\xa9tc");
        memset(shown, 'v', 63);
        strcpy(shown + 63, "\\xc3...");
        assert_invalid_profile(value, shown);
}

/* The error is what sd-bus sends as the reply: it must accept it. */
static void test_invalid_profile_reply(void) {
        static const char *const values[] = { "Restricted", "\xef\xbf\xbe", "\xc2\x85", "a\"b", "\xff\xfe" };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                sd_bus_message *call = NULL, *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;

                ASSERT_OK(sd_bus_message_new_method_call(test_bus_get(), &call, FL_BUS_INTERFACE, FL_BUS_PATH,
                                                         FL_BUS_INTERFACE, "SetProfile"));
                ASSERT_OK(sd_bus_message_append(call, "sb", "x", 0));
                ASSERT_OK(sd_bus_message_seal(call, 1000 + i, 0));
                ASSERT_INT_EQ(bus_error_invalid_profile(&error, values[i]), -EINVAL);
                ASSERT_OK(sd_bus_message_new_method_error(call, &reply, &error));
                sd_bus_message_unref(reply);
                sd_bus_message_unref(call);
                sd_bus_error_free(&error);
        }
        test_bus_free();
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_signal_keys);
        TEST(test_signal_optional_keys);
        TEST(test_read_unknown_keys);
        TEST(test_read_wrong_types);
        TEST(test_invalid_profile);
        TEST(test_invalid_profile_reply);
        return test_finish();
}
