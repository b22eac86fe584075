/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by test-event-fields.c and test-event-ops.c: an event as the daemon
 * logs it (event_record_from_kernel(), then journal_fields_from_event() and
 * journal_fields_line() of src/journal.c), and what every such entry must
 * look like. */

#include <errno.h>
#include <stdint.h>
#include <syslog.h>

#include "event-fields.h"
#include "journal.h"
#include "message-ids.h"
#include "tests.h"

/* What every event has in the journal besides the table's fields. */
static const char *const base_names[] = {
        "MESSAGE",
        "MESSAGE_ID",
        "PRIORITY",
        "OBJECT_PID",
};
#define N_BASE (sizeof(base_names) / sizeof(base_names[0]))

/* The table's fields come from the table itself (src/event-fields.c), so
 * that adding a field is a row there and nothing else: the rows that are
 * always there, and the optional ones, there only when there is something to
 * say. test-event-table checks the table against itself and the D-Bus form;
 * the cases here check what each field says. */

/* An event as the daemon logs it: the record and its journal fields. */
typedef struct Event {
        EventRecord r;
        JournalFields f;
} Event;

static inline void event_done(Event *ev) {
        event_record_done(&ev->r);
        journal_fields_done(&ev->f);
}

static inline void format_event(const struct fl_event *e, const EventContext *ctx, Event *ret) {
        *ret = (Event) {};
        ASSERT_INT_EQ(event_record_from_kernel(e, ctx, &ret->r), 0);
        ASSERT_INT_EQ(journal_fields_from_event(&ret->r, &ret->f), 0);
}

/* The number of fields named NAME. */
static inline size_t field_count(const JournalFields *f, const char *name) {
        size_t len = strlen(name), count = 0;

        for (size_t i = 0; i < f->n; i++)
                if (strncmp(f->v[i], name, len) == 0 && f->v[i][len] == '=')
                        count++;
        return count;
}

/* Returns the value of field NAME, failing unless it occurs exactly once. */
static inline const char *field(const Event *ev, const char *name) {
        size_t len = strlen(name), count = field_count(&ev->f, name);

        if (count != 1)
                TEST_FAIL("field %s occurs %zu times", name, count);
        for (size_t i = 0;; i++)
                if (strncmp(ev->f.v[i], name, len) == 0 && ev->f.v[i][len] == '=')
                        return ev->f.v[i] + len + 1;
}

/* The priority of each action, from the commits that set them (4a6569f,
 * 568e4a2): a trusted executable's is information, an allowed one a notice,
 * a blocked one a warning, a kill that failed an error; anything else a
 * warning. */
static inline int expected_priority(int action) {
        switch (action) {
        case FL_ACTION_TRUSTED:
                return LOG_INFO;
        case FL_ACTION_ALLOWED:
                return LOG_NOTICE;
        case FL_ACTION_KILL_FAILED:
                return LOG_ERR;
        default:
                return LOG_WARNING;
        }
}

/* Every field is one of the expected names, each exactly once (the optional
 * ones exactly when OPTIONAL, a NULL-terminated list, names them), every
 * value printable and one line, the priority the action's. */
static inline void assert_well_formed_with_at(const char *file, int line, const Event *ev,
                                              const char *const *optional, int action) {
        size_t n_optional = 0;

        for (size_t i = 0; i < N_BASE; i++)
                (void) field(ev, base_names[i]);
        for (EventField k = 0; k < _EVENT_FIELD_MAX; k++) {
                const char *name = event_field_table[k].journal;
                bool expected = !event_field_table[k].optional;

                for (const char *const *o = optional; o && *o; o++)
                        expected = expected || strcmp(*o, name) == 0;
                if (field_count(&ev->f, name) != (expected ? 1 : 0))
                        TEST_FAIL("%s:%d: field %s occurs %zu times, expected %d", file, line, name,
                                  field_count(&ev->f, name), expected);
                n_optional += expected;
        }
        ASSERT_INT_EQ(ev->f.n, N_BASE + n_optional);
        for (size_t i = 0; i < ev->f.n; i++) {
                ASSERT_NOT_NULL(ev->f.v[i]);
                assert_text(ev->f.v[i], ev->f.v[i]);
                ASSERT_TRUE(utf8_valid(ev->f.v[i]));
        }
        ASSERT_NOT_NULL(ev->r.message);
        assert_text("message", ev->r.message);
        ASSERT_STREQ(field(ev, "MESSAGE"), ev->r.message);
        if (ev->r.priority != expected_priority(action))
                TEST_FAIL("%s:%d: priority %d for action %d, expected %d", file, line, ev->r.priority, action,
                          expected_priority(action));
}
#define assert_well_formed_with(ev, optional, action) \
        assert_well_formed_with_at(__FILE__, __LINE__, (ev), (optional), (action))
#define assert_well_formed(ev, action) assert_well_formed_with(ev, NULL, action)

/* MESSAGE with a backslash before each '"' and '\\': the stderr line's form
 * of it since 672f029. */
static inline char *line_escaped(const char *message) {
        char *out = malloc(2 * strlen(message) + 1), *p = out;

        ASSERT_NOT_NULL(out);
        for (; *message; message++) {
                if (*message == '"' || *message == '\\')
                        *p++ = '\\';
                *p++ = *message;
        }
        *p = 0;
        return out;
}

/* Parses journal_fields_line() output back: the message with its quotes and
 * backslashes escaped, then for each field but MESSAGE= ' NAME="value"' with
 * the value free of unescaped quotes. */
static inline void assert_line(const JournalFields *f) {
        const char *message = NULL, *p;
        char *line = NULL, *escaped;

        for (size_t i = 0; i < f->n; i++)
                if (startswith(f->v[i], "MESSAGE="))
                        message = f->v[i] + 8;
        ASSERT_NOT_NULL(message);
        escaped = line_escaped(message);

        ASSERT_INT_EQ(journal_fields_line(f, &line), 0);
        ASSERT_NOT_NULL(line);
        ASSERT_NULL(strchr(line, '\n'));
        assert_text("line", line);
        ASSERT_STARTSWITH(line, escaped);

        p = line + strlen(escaped);
        free(escaped);
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->v[i], '='), *start;
                size_t namelen = (size_t) (eq - f->v[i]);

                if (startswith(f->v[i], "MESSAGE="))
                        continue;
                if (*p != ' ')
                        TEST_FAIL("field %zu: expected ' ' at \"%s\"", i, p);
                p++;
                if (strncmp(p, f->v[i], namelen + 1) != 0)
                        TEST_FAIL("field %zu: expected name %.*s at \"%s\"", i, (int) namelen, f->v[i], p);
                p += namelen + 1;
                if (*p != '"')
                        TEST_FAIL("field %zu: value not quoted at \"%s\"", i, p);
                start = ++p;
                while (*p && *p != '"')
                        p += (*p == '\\' && p[1]) ? 2 : 1;
                if (*p != '"')
                        TEST_FAIL("field %zu: unterminated value in \"%s\"", i, line);
                if ((size_t) (p - start) != strlen(eq + 1) || strncmp(start, eq + 1, (size_t) (p - start)) != 0)
                        TEST_FAIL("field %zu: value \"%.*s\" != \"%s\"", i, (int) (p - start), start, eq + 1);
                p++;
        }
        if (*p)
                TEST_FAIL("trailing garbage \"%s\"", p);
        free(line);
}

/* Skips a quoted string the process chose, by its escapes: P is after the
 * opening quote; returns the closing one. */
static inline const char *skip_quoted(const char *p) {
        while (*p && *p != '"')
                p += (*p == '\\' && p[1]) ? 2 : 1;
        return p;
}

/* The message names who did it first, outside any string the process chose:
 * "VERB fileless WHAT by pid PID ("COMM", program "PROGRAM"), uid UID: ",
 * WHAT "execution" or "executable mapping (OP)". Reads it as a reader that
 * knows only that shape would, skipping COMM and PROGRAM by their escapes. */
static inline void assert_message_who_at(const char *file, int line, const char *message, const char *verb,
                                         const char *what, uint32_t pid, uint32_t uid) {
        char prefix[160];
        const char *p;
        unsigned long v;
        char *end;

        snprintf(prefix, sizeof(prefix), "%s fileless %s by pid ", verb, what);
        if (!startswith(message, prefix))
                TEST_FAIL("%s:%d: \"%s\" does not start with \"%s\"", file, line, message, prefix);
        p = message + strlen(prefix);
        v = strtoul(p, &end, 10);
        ASSERT_INT_EQ(v, pid);
        ASSERT_STARTSWITH(end, " (\"");
        p = skip_quoted(end + 3);
        ASSERT_STARTSWITH(p, "\", program \"");
        p = skip_quoted(p + strlen("\", program \""));
        ASSERT_STARTSWITH(p, "\"), uid ");
        v = strtoul(p + 8, &end, 10);
        ASSERT_INT_EQ(v, uid);
        ASSERT_STARTSWITH(end, ": ");
}
#define assert_message_who(message, verb, pid, uid) \
        assert_message_who_at(__FILE__, __LINE__, (message), (verb), "execution", (pid), (uid))
#define assert_message_who_what(message, verb, what, pid, uid) \
        assert_message_who_at(__FILE__, __LINE__, (message), (verb), (what), (pid), (uid))

static inline struct fl_event sample_event(void) {
        struct fl_event e = {
                .boot_ns = 123456789,
                .inode = 4242424242ULL,
                .dev = ((uint64_t) 259 << 20) | 65537,
                .cgroup_id = 987654321012ULL,
                .prog_inode = 77,
                .prog_dev = ((uint64_t) 8 << 20) | 1,
                .pidns = 4026531836U,
                .pidns_level = 2,
                .pid = 1234,
                .ppid = 1000,
                .uid = 1001,
                .gid = 100,
                .flags = 0,
                .scope_id = 0,
                .kind = FL_KIND_MEMFD,
                .action = FL_ACTION_KILLED,
                .profile = FL_PROFILE_RESTRICTED,
                .backend = FL_BACKEND_TRACEPOINT,
                .op = FL_OP_EXEC,
        };

        strcpy(e.comm, "bash");
        strcpy(e.parent_comm, "sshd");
        strcpy(e.program, "busybox");
        strcpy(e.name, "memfd:x");
        strcpy(e.path, "/proc/self/fd/3");
        return e;
}
