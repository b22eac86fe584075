/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* src/event-fields.c on what 4a6569f and 568e4a2 added to a record:
 * executable mappings (FILELESS_OPERATION, a message without an exec path),
 * the acting program (FILELESS_PROGRAM), trusted executables
 * (allowed-trusted, at LOG_INFO) and the scope that decided (FILELESS_SCOPE,
 * from the context). */

#include "event-test.h"

static const char *const with_scope[] = { "FILELESS_SCOPE", NULL };

/* A private executable mapping, or PROT_EXEC added to one: no exec path, and
 * the message says which. */
static void test_record_mapping(void) {
        static const struct {
                int op, action, backend;
                const char *op_name, *verb, *backend_name;
        } cases[] = {
                { FL_OP_MMAP, FL_ACTION_DENIED, FL_BACKEND_LSM, "mmap", "Denied", "lsm" },
                { FL_OP_MPROTECT, FL_ACTION_DENIED, FL_BACKEND_FMOD_RET, "mprotect", "Denied", "fmod_ret" },
                /* TracepointMappings=yes */
                { FL_OP_MMAP, FL_ACTION_KILLED, FL_BACKEND_TRACEPOINT, "mmap", "Killed", "tracepoint" },
                { FL_OP_MPROTECT, FL_ACTION_KILL_FAILED, FL_BACKEND_TRACEPOINT, "mprotect", "FAILED to kill",
                  "tracepoint" },
                { FL_OP_MMAP, FL_ACTION_ALLOWED, FL_BACKEND_LSM, "mmap", "Allowed", "lsm" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                char expected[512], what[64];
                Event ev;

                e.op = (uint8_t) cases[i].op;
                e.action = (uint8_t) cases[i].action;
                e.backend = (uint8_t) cases[i].backend;
                memset(e.path, 0, sizeof(e.path));
                format_event(&e, NULL, &ev);
                assert_well_formed(&ev, e.action);
                ASSERT_STREQ(field(&ev, "FILELESS_OPERATION"), cases[i].op_name);
                ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), "");
                ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "memfd:x");
                ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "busybox");
                snprintf(expected, sizeof(expected),
                         "%s fileless executable mapping (%s) by pid 1234 (\"bash\", program \"busybox\"), uid 1001: "
                         "memfd \"memfd:x\"; profile restricted, backend %s",
                         cases[i].verb, cases[i].op_name, cases[i].backend_name);
                ASSERT_STREQ(ev.r.message, expected);
                snprintf(what, sizeof(what), "executable mapping (%s)", cases[i].op_name);
                assert_message_who_what(ev.r.message, cases[i].verb, what, 1234, 1001);
                ASSERT_NOT_CONTAINS(ev.r.message, " via ");
                assert_line(&ev.f);
                event_done(&ev);
        }
}

/* A mapping is named by the file, never by a path: one the record carries
 * anyway stays out of the message, and is still the field's. */
static void test_record_mapping_path(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .shm_dir = "/dev/shm" };
        Event ev;

        e.op = FL_OP_MPROTECT;
        e.kind = FL_KIND_SHM;
        e.action = FL_ACTION_DENIED;
        e.backend = FL_BACKEND_LSM;
        strcpy(e.name, "lib\"x\".so");
        strcpy(e.path, "/proc/self/fd/9");
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/dev/shm/lib\\\"x\\\".so");
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), "/proc/self/fd/9");
        ASSERT_STREQ(ev.r.message, "Denied fileless executable mapping (mprotect) by pid 1234 (\"bash\", program "
                                   "\"busybox\"), uid 1001: shm \"/dev/shm/lib\\\"x\\\".so\"; profile restricted, "
                                   "backend lsm");
        ASSERT_NOT_CONTAINS(ev.r.message, "/proc/self/fd/9");
        assert_line(&ev.f);
        event_done(&ev);

        /* a #! script mapped: said as for an exec */
        e.flags = FL_EVENT_SCRIPT;
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_CONTAINS(ev.r.message, "uid 1001: #! script in shm \"/dev/shm/lib\\\"x\\\".so\"; profile");
        event_done(&ev);
}

/* An operation the daemon does not know is "unknown", and not an exec: the
 * message does not claim one. */
static void test_record_op_unknown(void) {
        static const unsigned ops[] = { _FL_OP_MAX, 7, 255 };

        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                struct fl_event e = sample_event();
                Event ev;

                e.op = (uint8_t) ops[i];
                format_event(&e, NULL, &ev);
                assert_well_formed(&ev, e.action);
                ASSERT_STREQ(field(&ev, "FILELESS_OPERATION"), "unknown");
                assert_message_who_what(ev.r.message, "Killed", "executable mapping (unknown)", 1234, 1001);
                ASSERT_NOT_CONTAINS(ev.r.message, "fileless execution");
                assert_line(&ev.f);
                event_done(&ev);
        }
}

/* A trusted executable's process: allowed whatever the profile, at
 * LOG_INFO, and said so. */
static void test_record_trusted(void) {
        struct fl_event e = sample_event();
        Event ev;

        e.action = FL_ACTION_TRUSTED;
        e.backend = FL_BACKEND_LSM;
        strcpy(e.program, "java");
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_INT_EQ(ev.r.priority, LOG_INFO);
        ASSERT_STREQ(field(&ev, "PRIORITY"), "6");
        ASSERT_STREQ(field(&ev, "FILELESS_ACTION"), "allowed-trusted");
        ASSERT_STREQ(field(&ev, "FILELESS_PROFILE"), "restricted");
        ASSERT_STREQ(ev.r.message, "Allowed (trusted executable) fileless execution by pid 1234 (\"bash\", program "
                                   "\"java\"), uid 1001: memfd \"memfd:x\" via \"/proc/self/fd/3\"; profile "
                                   "restricted, backend lsm");
        assert_message_who(ev.r.message, "Allowed (trusted executable)", 1234, 1001);
        assert_line(&ev.f);
        event_done(&ev);

        /* a JIT's private executable mapping of a memfd */
        e.op = FL_OP_MMAP;
        memset(e.path, 0, sizeof(e.path));
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(ev.r.message, "Allowed (trusted executable) fileless executable mapping (mmap) by pid 1234 "
                                   "(\"bash\", program \"java\"), uid 1001: memfd \"memfd:x\"; profile restricted, "
                                   "backend lsm");
        event_done(&ev);
}

/* FILELESS_SCOPE: the unit or slice whose profile decided, from the context
 * (the daemon names a scope removed since by its id, "#ID"); absent for the
 * machine-wide profile. Escaped like every name. */
static void test_record_scope(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .scope = "nginx.service" };
        Event ev;

        e.scope_id = 3;
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, with_scope, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_SCOPE"), "nginx.service");
        ASSERT_STREQ(event_record_string(&ev.r, EVENT_SCOPE), "nginx.service");
        assert_line(&ev.f);
        event_done(&ev);

        ctx.scope = "#3";
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, with_scope, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_SCOPE"), "#3");
        event_done(&ev);

        ctx.scope = "a\"b\n\xe2\x80\xae.slice";
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, with_scope, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_SCOPE"), "a\\\"b\\n\\u202e.slice");
        assert_line(&ev.f);
        event_done(&ev);

        /* with the unit of the task's cgroup, which may be another (a slice
         * above it decided) */
        ctx = (EventContext) { .scope = "system.slice", .unit = "sshd.service" };
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, ((const char *const[]) { "FILELESS_SCOPE", "FILELESS_UNIT", NULL }), e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_SCOPE"), "system.slice");
        ASSERT_STREQ(field(&ev, "FILELESS_UNIT"), "sshd.service");
        event_done(&ev);

        /* none, or an empty one, is the machine-wide profile: left out */
        ctx = (EventContext) { .scope = "" };
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_FALSE(ev.r.values[EVENT_SCOPE].set);
        event_done(&ev);
        ctx.scope = NULL;
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        event_done(&ev);
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        event_done(&ev);
}

/* FILELESS_PROGRAM: the acting task's executable's name, raw from the record
 * like comm, escaped, read no further than its array. */
static void test_record_program(void) {
        struct fl_event e = sample_event();
        Event ev;

        strcpy(e.program, "ld-linux-x86-64.so.2");
        e.op = FL_OP_MMAP;
        format_event(&e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "ld-linux-x86-64.so.2");
        ASSERT_CONTAINS(ev.r.message, "(\"bash\", program \"ld-linux-x86-64.so.2\")");
        event_done(&ev);

        strcpy(e.program, "\xc2\x9b" "2J\xe2\x80\x8bx\tcaf\xc3\xa9");
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "\\u009b2J\\u200bx\\tcaf\xc3\xa9");
        ASSERT_CONTAINS(ev.r.message, "program \"\\u009b2J\\u200bx\\tcaf\xc3\xa9\")");
        assert_line(&ev.f);
        event_done(&ev);

        /* a leading NUL is an empty name, whatever follows */
        memset(e.program, 0, sizeof(e.program));
        e.program[1] = 'x';
        format_event(&e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "");
        event_done(&ev);
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_record_mapping);
        TEST(test_record_mapping_path);
        TEST(test_record_op_unknown);
        TEST(test_record_trusted);
        TEST(test_record_scope);
        TEST(test_record_program);
        return test_finish();
}
