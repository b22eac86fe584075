/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* src/event-fields.c: a kernel record of an exec to an EventRecord, as the
 * journal gets it (journal_fields_from_event(), journal_fields_line() of
 * src/journal.c). Mappings, trusted executables and scopes are in
 * test-event-ops.c, the values' string form in test-event-values.c. */

#include "event-test.h"
#include "unescape.h"

/* ---- event_record_from_kernel() as the journal gets it ---- */

static void test_record_killed_memfd(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .realtime_usec = 1700000000123456ULL, .shm_dir = "/dev/shm" };
        Event ev;

        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);

        ASSERT_STREQ(field(&ev, "MESSAGE_ID"), FL_MESSAGE_FILELESS_EXEC);
        ASSERT_STREQ(field(&ev, "MESSAGE_ID"), "44f1fd78380e403f9427638d2ffb0464");
        ASSERT_STREQ(field(&ev, "PRIORITY"), "4");
        ASSERT_INT_EQ(ev.r.priority, 4);
        ASSERT_STREQ(field(&ev, "OBJECT_PID"), "1234");
        ASSERT_STREQ(field(&ev, "FILELESS_ACTION"), "killed");
        ASSERT_STREQ(field(&ev, "FILELESS_OPERATION"), "exec");
        ASSERT_STREQ(field(&ev, "FILELESS_KIND"), "memfd");
        ASSERT_STREQ(field(&ev, "FILELESS_PROFILE"), "restricted");
        ASSERT_STREQ(field(&ev, "FILELESS_BACKEND"), "tracepoint");
        ASSERT_STREQ(field(&ev, "FILELESS_SCRIPT"), "0");
        ASSERT_STREQ(field(&ev, "FILELESS_PID"), "1234");
        ASSERT_STREQ(field(&ev, "FILELESS_PPID"), "1000");
        ASSERT_STREQ(field(&ev, "FILELESS_UID"), "1001");
        ASSERT_STREQ(field(&ev, "FILELESS_GID"), "100");
        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "bash");
        ASSERT_STREQ(field(&ev, "FILELESS_PARENT_COMM"), "sshd");
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "busybox");
        /* not shm: no directory prefix even though ctx has one */
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "memfd:x");
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), "/proc/self/fd/3");
        ASSERT_STREQ(field(&ev, "FILELESS_INODE"), "4242424242");
        ASSERT_STREQ(field(&ev, "FILELESS_DEVICE"), "259:65537");
        ASSERT_STREQ(field(&ev, "FILELESS_PID_NAMESPACE"), "4026531836");
        ASSERT_STREQ(field(&ev, "FILELESS_PID_NAMESPACE_LEVEL"), "2");
        ASSERT_STREQ(field(&ev, "FILELESS_CGROUP_ID"), "987654321012");
        ASSERT_STREQ(field(&ev, "FILELESS_TIMESTAMP"), "1700000000123456");

        /* Since 5c285e6 who did it comes first and the process's strings are
         * quoted (it was "Killed fileless execution of memfd:x (memfd) by pid
         * 1234 (bash), uid 1001, via ..."); since 4a6569f the program too. */
        ASSERT_STREQ(ev.r.message, "Killed fileless execution by pid 1234 (\"bash\", program \"busybox\"), uid 1001: "
                                   "memfd \"memfd:x\" via \"/proc/self/fd/3\"; profile restricted, backend tracepoint");
        assert_message_who(ev.r.message, "Killed", 1234, 1001);
        ASSERT_NOT_CONTAINS(ev.r.message, "#!");

        assert_line(&ev.f);
        event_done(&ev);
        ASSERT_INT_EQ(ev.f.n, 0);
        ASSERT_NULL(ev.f.v);
        ASSERT_NULL(ev.r.message);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                ASSERT_FALSE(ev.r.values[f].set);
                ASSERT_NULL(ev.r.values[f].str);
        }
}

static void test_record_priority(void) {
        static const struct {
                int action, backend;
                int priority;
                const char *name, *backend_name, *verb;
        } cases[] = {
                { FL_ACTION_ALLOWED, FL_BACKEND_TRACEPOINT, 5, "allowed", "tracepoint", "Allowed" },
                { FL_ACTION_DENIED, FL_BACKEND_LSM, 4, "denied", "lsm", "Denied" },
                { FL_ACTION_DENIED, FL_BACKEND_FMOD_RET, 4, "denied", "fmod_ret", "Denied" },
                { FL_ACTION_KILLED, FL_BACKEND_TRACEPOINT, 4, "killed", "tracepoint", "Killed" },
                /* an error since 4a6569f: the process ran although it should not have */
                { FL_ACTION_KILL_FAILED, FL_BACKEND_TRACEPOINT, 3, "kill-failed", "tracepoint", "FAILED to kill" },
                /* since 568e4a2, information: what the administrator allowed */
                { FL_ACTION_TRUSTED, FL_BACKEND_LSM, 6, "allowed-trusted", "lsm", "Allowed (trusted executable)" },
                { FL_ACTION_TRUSTED, FL_BACKEND_TRACEPOINT, 6, "allowed-trusted", "tracepoint",
                  "Allowed (trusted executable)" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                char prio[8], verb[32];
                Event ev;

                e.action = (uint8_t) cases[i].action;
                e.backend = (uint8_t) cases[i].backend;
                format_event(&e, NULL, &ev);
                assert_well_formed(&ev, e.action);
                ASSERT_INT_EQ(ev.r.priority, cases[i].priority);
                snprintf(prio, sizeof(prio), "%d", cases[i].priority);
                ASSERT_STREQ(field(&ev, "PRIORITY"), prio);
                ASSERT_STREQ(field(&ev, "FILELESS_ACTION"), cases[i].name);
                snprintf(verb, sizeof(verb), "%s ", cases[i].verb);
                ASSERT_STARTSWITH(ev.r.message, verb);
                assert_message_who(ev.r.message, cases[i].verb, 1234, 1001);
                ASSERT_STREQ(field(&ev, "FILELESS_BACKEND"), cases[i].backend_name);
                ASSERT_CONTAINS(ev.r.message, cases[i].backend_name);
                /* no context: timestamp 0 */
                ASSERT_STREQ(field(&ev, "FILELESS_TIMESTAMP"), "0");
                assert_line(&ev.f);
                event_done(&ev);
        }
}

static void test_record_script(void) {
        struct fl_event e = sample_event();
        Event ev;

        e.flags = FL_EVENT_SCRIPT | 0x2; /* 0x2 was FL_EVENT_VIA_FDPATH, removed in 5c285e6 */
        e.action = FL_ACTION_ALLOWED;
        e.profile = FL_PROFILE_ALLOW;
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_SCRIPT"), "1");
        ASSERT_STREQ(field(&ev, "FILELESS_PROFILE"), "allow");
        ASSERT_CONTAINS(ev.r.message, "#! script");
        ASSERT_STARTSWITH(ev.r.message, "Allowed fileless execution by pid 1234 (\"bash\", program \"busybox\"), "
                                        "uid 1001: #! script in memfd \"memfd:x\"");
        ASSERT_INT_EQ(ev.r.priority, 5);
        event_done(&ev);

        /* other flags, known or not, are no script */
        e.flags = ~(FL_EVENT_SCRIPT | FL_EVENT_BY_PATH);
        format_event(&e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_SCRIPT"), "0");
        ASSERT_NOT_CONTAINS(ev.r.message, "#! script");
        event_done(&ev);
}

static void test_record_shm(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .realtime_usec = 1, .shm_dir = "/dev/shm" };
        Event ev;

        e.kind = FL_KIND_SHM;
        e.dev = ((uint64_t) 0 << 20) | 25;
        strcpy(e.name, "payload");
        strcpy(e.path, "/dev/shm/payload");
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_KIND"), "shm");
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/dev/shm/payload");
        ASSERT_STREQ(field(&ev, "FILELESS_DEVICE"), "0:25");
        ASSERT_CONTAINS(ev.r.message, "uid 1001: shm \"/dev/shm/payload\" via \"/dev/shm/payload\";");
        event_done(&ev);

        /* another mount point */
        ctx.shm_dir = "/run/shm";
        format_event(&e, &ctx, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/run/shm/payload");
        event_done(&ev);

        /* without a known mount point the bare name remains */
        ctx.shm_dir = NULL;
        format_event(&e, &ctx, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "payload");
        event_done(&ev);
        format_event(&e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "payload");
        event_done(&ev);
}

static void test_record_by_path(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .shm_dir = "/dev/shm" };
        Event ev;

        /* known only by its exec path: that names the file, even for shm */
        e.kind = FL_KIND_SHM;
        e.flags = FL_EVENT_SCRIPT | FL_EVENT_BY_PATH;
        e.inode = 0;
        e.dev = 0;
        memset(e.name, 0, sizeof(e.name));
        strcpy(e.path, "/dev/shm/run\n.sh");
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/dev/shm/run\\n.sh");
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), "/dev/shm/run\\n.sh");
        ASSERT_STREQ(field(&ev, "FILELESS_SCRIPT"), "1");
        ASSERT_STARTSWITH(ev.r.message, "Killed fileless execution by pid 1234 (\"bash\", program \"busybox\"), "
                                        "uid 1001: #! script in shm \"/dev/shm/run\\n.sh\"");
        assert_line(&ev.f);
        event_done(&ev);

        /* without the flag the dentry name plus shm_dir is used */
        e.flags = FL_EVENT_SCRIPT;
        strcpy(e.name, "run");
        format_event(&e, &ctx, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/dev/shm/run");
        event_done(&ev);

        /* a path filling its whole array */
        e.flags = FL_EVENT_BY_PATH;
        memset(e.path, 'p', sizeof(e.path));
        format_event(&e, &ctx, &ev);
        ASSERT_INT_EQ(strlen(field(&ev, "FILELESS_FILE_NAME")), FL_PATH_LEN);
        event_done(&ev);
}

static void test_record_other_kinds(void) {
        static const struct {
                int kind;
                const char *name;
        } cases[] = {
                { FL_KIND_ORDINARY, "ordinary" },
                { FL_KIND_TMPFILE, "tmpfile" },
                { FL_KIND_DELETED, "deleted" },
                /* since 4a6569f */
                { FL_KIND_USERNS, "userns" },
                { FL_KIND_DETACHED, "detached" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                EventContext ctx = { .shm_dir = "/dev/shm" };
                char expected[64];
                Event ev;

                e.kind = (uint8_t) cases[i].kind;
                strcpy(e.name, "#1234");
                format_event(&e, &ctx, &ev);
                assert_well_formed(&ev, e.action);
                ASSERT_STREQ(field(&ev, "FILELESS_KIND"), cases[i].name);
                ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "#1234");
                snprintf(expected, sizeof(expected), ": %s \"#1234\" via", cases[i].name);
                ASSERT_CONTAINS(ev.r.message, expected);
                event_done(&ev);
        }
}

static void test_record_empty_strings(void) {
        struct fl_event e = sample_event();
        Event ev;

        memset(e.comm, 0, sizeof(e.comm));
        memset(e.parent_comm, 0, sizeof(e.parent_comm));
        memset(e.program, 0, sizeof(e.program));
        memset(e.name, 0, sizeof(e.name));
        memset(e.path, 0, sizeof(e.path));
        e.dev = 0;
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "");
        /* an empty program is still a field (a raw member), not left out */
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "");
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), "");
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "");
        ASSERT_STREQ(field(&ev, "FILELESS_DEVICE"), "0:0");
        /* "via -;" before the strings were quoted */
        ASSERT_CONTAINS(ev.r.message, "via \"-\";");
        /* "(\"\")" before the program was named */
        ASSERT_CONTAINS(ev.r.message, "(\"\", program \"\")");
        assert_message_who(ev.r.message, "Killed", 1234, 1001);
        assert_line(&ev.f);
        event_done(&ev);
}

static void test_record_device_encoding(void) {
        static const struct {
                unsigned major, minor;
                const char *expected;
        } cases[] = {
                { 8, 1, "8:1" },
                { 0, 45, "0:45" },
                { 259, 0, "259:0" },
                { 4095, 1048575, "4095:1048575" }, /* 12-bit major, 20-bit minor */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                uint64_t back = 0;
                Event ev;

                e.dev = ((uint64_t) cases[i].major << 20) | cases[i].minor;
                format_event(&e, NULL, &ev);
                ASSERT_STREQ(field(&ev, "FILELESS_DEVICE"), cases[i].expected);
                /* the record keeps the kernel's encoding */
                ASSERT_TRUE(event_record_number(&ev.r, EVENT_DEVICE, &back));
                ASSERT_INT_EQ(back, e.dev);
                event_done(&ev);
        }
}

static void test_record_hostile(void) {
        /* on the heap so that ASan sees a read past the end of path[] */
        struct fl_event *e = malloc(sizeof(*e));
        EventContext ctx = { .realtime_usec = 42, .shm_dir = "/dev/shm" };
        char expected[FL_PATH_LEN + 1];
        Event ev;

        ASSERT_NOT_NULL(e);
        *e = sample_event();
        e->kind = FL_KIND_SHM;
        /* comm fills its array without a terminator; exec_comm follows it */
        memset(e->comm, 'A', sizeof(e->comm));
        strcpy(e->parent_comm, "PARENT\n\x1b[2J");
        strcpy(e->name, "x\nMESSAGE_ID=forged\nPRIORITY=0\n=y=\"z\"");
        /* path fills its array, the last member of the struct */
        memset(e->path, 'p', sizeof(e->path));

        format_event(e, &ctx, &ev);
        assert_well_formed(&ev, e->action);

        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "AAAAAAAAAAAAAAAA");
        ASSERT_STREQ(field(&ev, "FILELESS_PARENT_COMM"), "PARENT\\n\\x1b[2J");
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "/dev/shm/x\\nMESSAGE_ID=forged\\nPRIORITY=0\\n=y=\\\"z\\\"");
        memset(expected, 'p', FL_PATH_LEN);
        expected[FL_PATH_LEN] = 0;
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_PATH"), expected);

        /* the real values survive, the forged ones only appear escaped */
        ASSERT_STREQ(field(&ev, "MESSAGE_ID"), FL_MESSAGE_FILELESS_EXEC);
        ASSERT_STREQ(field(&ev, "PRIORITY"), "4");
        for (size_t i = 0; i < ev.f.n; i++) {
                ASSERT_NULL(strchr(ev.f.v[i], '\n'));
                ASSERT_NOT_CONTAINS(ev.f.v[i], "\nMESSAGE_ID");
                if (strstr(ev.f.v[i], "MESSAGE_ID=forged"))
                        ASSERT_TRUE(startswith(ev.f.v[i], "FILELESS_FILE_NAME=") || startswith(ev.f.v[i], "MESSAGE="));
        }
        ASSERT_NULL(strchr(ev.r.message, '\n'));
        ASSERT_CONTAINS(ev.r.message, "x\\nMESSAGE_ID=forged\\nPRIORITY=0\\n");
        /* the name's quotes cannot close the message's */
        ASSERT_CONTAINS(ev.r.message, "=y=\\\"z\\\"\" via \"ppp");
        ASSERT_CONTAINS(ev.r.message, "(\"AAAAAAAAAAAAAAAA\", program \"busybox\")");
        ASSERT_NOT_CONTAINS(ev.r.message, "PARENT");
        assert_message_who(ev.r.message, "Killed", 1234, 1001);
        assert_line(&ev.f);
        event_done(&ev);

        /* name filling its whole array, no terminator */
        *e = sample_event();
        memset(e->name, 'n', sizeof(e->name));
        memset(e->path, 'p', sizeof(e->path));
        format_event(e, NULL, &ev);
        ASSERT_INT_EQ(strlen(field(&ev, "FILELESS_FILE_NAME")), FL_NAME_LEN);
        ASSERT_INT_EQ(strlen(field(&ev, "FILELESS_EXEC_PATH")), FL_PATH_LEN);
        event_done(&ev);

        /* a comm that forges who did it */
        *e = sample_event();
        strcpy(e->comm, "x\"), uid 0: y");
        format_event(e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "x\\\"), uid 0: y");
        assert_message_who(ev.r.message, "Killed", 1234, 1001);
        event_done(&ev);

        /* and a program that does (its file name is the user's choice) */
        *e = sample_event();
        strcpy(e->program, "x\"), uid 0: \"y\\");
        format_event(e, NULL, &ev);
        ASSERT_STREQ(field(&ev, "FILELESS_PROGRAM"), "x\\\"), uid 0: \\\"y\\\\");
        assert_message_who(ev.r.message, "Killed", 1234, 1001);
        ASSERT_CONTAINS(ev.r.message, "(\"bash\", program \"x\\\"), uid 0: \\\"y\\\\\"), uid 1001: ");
        assert_line(&ev.f);
        event_done(&ev);

        /* a program filling its array without a terminator: read no further
         * (the name that follows it is not part of it) */
        *e = sample_event();
        memset(e->program, 'g', sizeof(e->program));
        format_event(e, NULL, &ev);
        ASSERT_INT_EQ(strlen(field(&ev, "FILELESS_PROGRAM")), FL_PROGRAM_LEN);
        ASSERT_NOT_CONTAINS(field(&ev, "FILELESS_PROGRAM"), "memfd");
        event_done(&ev);

        /* every byte value in every string */
        *e = sample_event();
        for (size_t i = 0; i < sizeof(e->name); i++) {
                e->name[i] = (char) (i + 1);
                e->path[i] = (char) (255 - i);
        }
        for (size_t i = 0; i < sizeof(e->comm); i++) {
                e->comm[i] = (char) (0x80 + i);
                e->exec_comm[i] = (char) (0x90 + i);
                e->parent_comm[i] = (char) (i + 1);
        }
        for (size_t i = 0; i < sizeof(e->program); i++)
                e->program[i] = (char) (0xc0 + i);
        format_event(e, &ctx, &ev);
        assert_well_formed_with(&ev, ((const char *const[]) { "FILELESS_EXEC_COMM", NULL }), e->action);
        assert_line(&ev.f);
        event_done(&ev);

        /* deceptive code points: a right-to-left override in the name, C1
         * controls in comm */
        *e = sample_event();
        strcpy(e->name, "memfd:invoice_\xe2\x80\xae" "fdp.exe");
        strcpy(e->comm, "\xc2\x9b" "2J\xe2\x80\x8b");
        format_event(e, NULL, &ev);
        assert_well_formed(&ev, e->action);
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "memfd:invoice_\\u202efdp.exe");
        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "\\u009b2J\\u200b");
        ASSERT_CONTAINS(ev.r.message, "\"memfd:invoice_\\u202efdp.exe\"");
        event_done(&ev);

        free(e);
}

static void test_record_unknown_values(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .shm_dir = "/dev/shm" };
        Event ev;

        e.kind = 200;
        e.action = 200;
        e.profile = 200;
        e.backend = 200;
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_KIND"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_ACTION"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_PROFILE"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_BACKEND"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_FILE_NAME"), "memfd:x");
        /* the kind was "(unknown)" before the message put it before the name */
        ASSERT_CONTAINS(ev.r.message, ": unknown \"memfd:x\"");
        ASSERT_CONTAINS(ev.r.message, "profile unknown, backend unknown");
        assert_message_who(ev.r.message, "Saw", 1234, 1001);
        /* not "allowed", so not the lower priority */
        ASSERT_INT_EQ(ev.r.priority, 4);
        assert_line(&ev.f);
        event_done(&ev);

        /* 0 is not a profile or backend either */
        e = sample_event();
        e.profile = 0;
        e.backend = 0;
        e.kind = _FL_KIND_MAX;
        e.action = _FL_ACTION_MAX;
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_PROFILE"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_BACKEND"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_KIND"), "unknown");
        ASSERT_STREQ(field(&ev, "FILELESS_ACTION"), "unknown");
        event_done(&ev);
}

/* FILELESS_EXEC_COMM: the tracepoint backend's name of the new image, only
 * when the record has one. */
static void test_record_exec_comm(void) {
        struct fl_event e = sample_event();
        const char *const with_exec_comm[] = { "FILELESS_EXEC_COMM", NULL };
        Event ev;

        format_event(&e, NULL, &ev);
        ASSERT_INT_EQ(field_count(&ev.f, "FILELESS_EXEC_COMM"), 0);
        ASSERT_FALSE(ev.r.values[EVENT_EXEC_COMM].set);
        event_done(&ev);

        strcpy(e.exec_comm, "3");
        format_event(&e, NULL, &ev);
        assert_well_formed_with(&ev, with_exec_comm, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_COMM"), "3");
        ASSERT_STREQ(event_record_string(&ev.r, EVENT_EXEC_COMM), "3");
        /* the pre-exec name stays the comm */
        ASSERT_STREQ(field(&ev, "FILELESS_COMM"), "bash");
        assert_line(&ev.f);
        event_done(&ev);

        /* escaped, and read no further than its array */
        memset(e.exec_comm, 'E', sizeof(e.exec_comm));
        e.exec_comm[0] = '\x1b';
        e.exec_comm[1] = '"';
        strcpy(e.parent_comm, "parent");
        format_event(&e, NULL, &ev);
        assert_well_formed_with(&ev, with_exec_comm, e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_EXEC_COMM"), "\\x1b\\\"EEEEEEEEEEEEEE");
        event_done(&ev);

        /* a leading NUL is no name, whatever follows */
        memset(e.exec_comm, 0, sizeof(e.exec_comm));
        e.exec_comm[1] = 'x';
        format_event(&e, NULL, &ev);
        assert_well_formed(&ev, e.action);
        event_done(&ev);
}

/* FILELESS_UNIT and FILELESS_USER_UNIT come from the context, escaped (a
 * delegated subtree's names are a user's choice), only when there is one. */
static void test_record_units(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .unit = "sshd.service" };
        Event ev;

        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, ((const char *const[]) { "FILELESS_UNIT", NULL }), e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_UNIT"), "sshd.service");
        assert_line(&ev.f);
        event_done(&ev);

        ctx = (EventContext) { .unit = "user@1000.service", .user_unit = "app-\x1b]0;x\a\"y\".service" };
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, ((const char *const[]) { "FILELESS_UNIT", "FILELESS_USER_UNIT", NULL }), e.action);
        ASSERT_STREQ(field(&ev, "FILELESS_UNIT"), "user@1000.service");
        ASSERT_STREQ(field(&ev, "FILELESS_USER_UNIT"), "app-\\x1b]0;x\\x07\\\"y\\\".service");
        assert_line(&ev.f);
        event_done(&ev);

        /* empty is none */
        ctx = (EventContext) { .unit = "", .user_unit = "" };
        format_event(&e, &ctx, &ev);
        assert_well_formed(&ev, e.action);
        ASSERT_FALSE(ev.r.values[EVENT_UNIT].set);
        ASSERT_FALSE(ev.r.values[EVENT_USER_UNIT].set);
        event_done(&ev);

        ctx = (EventContext) { .user_unit = "orphan.service" };
        format_event(&e, &ctx, &ev);
        assert_well_formed_with(&ev, ((const char *const[]) { "FILELESS_USER_UNIT", NULL }), e.action);
        event_done(&ev);
}


int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_record_killed_memfd);
        TEST(test_record_priority);
        TEST(test_record_script);
        TEST(test_record_shm);
        TEST(test_record_by_path);
        TEST(test_record_other_kinds);
        TEST(test_record_empty_strings);
        TEST(test_record_device_encoding);
        TEST(test_record_hostile);
        TEST(test_record_unknown_values);
        TEST(test_record_exec_comm);
        TEST(test_record_units);
        return test_finish();
}
