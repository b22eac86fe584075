/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* event_format() and event_format_line() on a hostile ring buffer record (see
 * fuzz-event-input.h for the input layout). Invariants:
 *  - formatting succeeds and gives the 22 documented fields, plus
 *    FILELESS_UNIT exactly when there is a unit, each once;
 *  - every field is NAME=value with NAME a valid journal field name
 *    ([A-Z0-9_], not starting with a digit or '_', at most 64 characters);
 *  - every value, the message and the stderr line are valid UTF-8 (checked
 *    with utf8_sequence_length() and with an independent decoder), printable
 *    and free of newlines (fuzz-common.h);
 *  - attacker strings (comm, parent comm, file name, exec path, unit) are
 *    escaped reversibly: unescaping gives back the record's bytes, so nothing
 *    is lost and nothing is forged; numbers and names are the record's;
 *  - the line is the message and then NAME="value" for every field, and a
 *    parser that knows no field in advance splits it back into exactly those. */

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "event-format.h"
#include "fuzz-common.h"
#include "fuzz-event-input.h"
#include "message-ids.h"

static const char *const base_names[] = {
        "MESSAGE_ID",           "PRIORITY",         "OBJECT_PID",         "FILELESS_ACTION",
        "FILELESS_KIND",        "FILELESS_PROFILE", "FILELESS_BACKEND",   "FILELESS_SCRIPT",
        "FILELESS_PID",         "FILELESS_PPID",    "FILELESS_UID",       "FILELESS_GID",
        "FILELESS_COMM",        "FILELESS_PARENT_COMM", "FILELESS_FILE_NAME", "FILELESS_EXEC_PATH",
        "FILELESS_INODE",       "FILELESS_DEVICE",  "FILELESS_PID_NAMESPACE", "FILELESS_PID_NAMESPACE_LEVEL",
        "FILELESS_CGROUP_ID",   "FILELESS_TIMESTAMP",
};
#define N_BASE (sizeof(base_names) / sizeof(base_names[0]))

/* Written from bpf/fileless.h and the README, not taken from names.c. */
static const char *name_of(int v, const char *const *table, int lo, int hi) {
        return v >= lo && v <= hi ? table[v - lo] : "unknown";
}
static const char *const kinds[] = { "ordinary", "memfd", "shm", "tmpfile", "deleted" };
static const char *const actions[] = { "allowed", "denied", "killed" };
static const char *const profiles[] = { "allow", "baseline", "restricted" };
static const char *const backends[] = { "lsm", "tracepoint" };

static bool journal_field_name_valid(const char *s, size_t n) {
        if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9') || s[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

/* The check the brief asks for, with the function the daemon itself exports:
 * S must be a sequence of complete utf8_sequence_length() sequences. */
static void check_sequence_length(const char *what, const char *s) {
        size_t n = strlen(s);

        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence_length((const unsigned char *) s + i, n - i);

                if (k == 0) {
                        fuzz_dump(what, s, n);
                        FUZZ_FAIL("%s: utf8_sequence_length() refuses byte offset %zu", what, i);
                }
                i += k;
        }
}

__attribute__((format(printf, 3, 4))) static void expect_field(const EventFields *f, const char *name, const char *format, ...) {
        const char *v = fuzz_field(f, name);
        char buf[128];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (!v || strcmp(v, buf) != 0) {
                if (v)
                        fuzz_dump(name, v, strlen(v));
                FUZZ_FAIL("%s is \"%s\", expected \"%s\"", name, v ? v : "(missing)", buf);
        }
}

static void expect_escaped(const EventFields *f, const char *name, const char *orig, size_t maxlen) {
        const char *v = fuzz_field(f, name);

        FUZZ_ASSERT(v);
        fuzz_check_round_trip(name, v, orig, strnlen(orig, maxlen));
}

static void check_fields(const FuzzEvent *fe, const EventFields *f) {
        const struct fl_event *e = &fe->e;
        const EventContext *ctx = fe->ctxp;
        bool has_unit = ctx && ctx->unit;
        const char *kind = name_of(e->kind, kinds, 0, 4), *file, *msg;
        size_t counts[N_BASE + 1] = {};

        FUZZ_ASSERT(f->n == N_BASE + has_unit);
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->fields[i], '=');
                bool known = false;

                FUZZ_ASSERT_STR(eq, "field", f->fields[i]);
                FUZZ_ASSERT_STR(journal_field_name_valid(f->fields[i], eq - f->fields[i]), "field", f->fields[i]);
                fuzz_check_text("field", f->fields[i]);
                check_sequence_length("field", f->fields[i]);
                FUZZ_ASSERT_STR(fuzz_no_bare_quote(eq + 1), "field", f->fields[i]);
                for (size_t j = 0; j <= N_BASE; j++) {
                        const char *name = j < N_BASE ? base_names[j] : "FILELESS_UNIT";
                        size_t len = strlen(name);

                        if ((size_t) (eq - f->fields[i]) == len && strncmp(f->fields[i], name, len) == 0) {
                                counts[j]++;
                                known = true;
                        }
                }
                FUZZ_ASSERT_STR(known, "unexpected field", f->fields[i]);
        }
        for (size_t j = 0; j < N_BASE; j++)
                if (counts[j] != 1)
                        FUZZ_FAIL("field %s appears %zu times", base_names[j], counts[j]);
        FUZZ_ASSERT(counts[N_BASE] == (size_t) has_unit);

        FUZZ_ASSERT(f->priority == (e->action == FL_ACTION_ALLOWED ? LOG_NOTICE : LOG_WARNING));
        expect_field(f, "MESSAGE_ID", "%s", FL_MESSAGE_FILELESS_EXEC);
        expect_field(f, "PRIORITY", "%d", f->priority);
        expect_field(f, "OBJECT_PID", "%u", e->pid);
        expect_field(f, "FILELESS_ACTION", "%s", name_of(e->action, actions, 0, 2));
        expect_field(f, "FILELESS_KIND", "%s", kind);
        expect_field(f, "FILELESS_PROFILE", "%s", name_of(e->profile, profiles, 1, 3));
        expect_field(f, "FILELESS_BACKEND", "%s", name_of(e->backend, backends, 1, 2));
        expect_field(f, "FILELESS_SCRIPT", "%d", (e->flags & FL_EVENT_SCRIPT) ? 1 : 0);
        expect_field(f, "FILELESS_PID", "%u", e->pid);
        expect_field(f, "FILELESS_PPID", "%u", e->ppid);
        expect_field(f, "FILELESS_UID", "%u", e->uid);
        expect_field(f, "FILELESS_GID", "%u", e->gid);
        expect_field(f, "FILELESS_INODE", "%llu", (unsigned long long) e->inode);
        /* kernel encoding: major << 20 | minor */
        expect_field(f, "FILELESS_DEVICE", "%u:%u", (unsigned) (e->dev >> 20), (unsigned) (e->dev & 0xfffff));
        expect_field(f, "FILELESS_PID_NAMESPACE", "%u", e->pidns);
        expect_field(f, "FILELESS_PID_NAMESPACE_LEVEL", "%u", e->pidns_level);
        expect_field(f, "FILELESS_CGROUP_ID", "%llu", (unsigned long long) e->cgroup_id);
        expect_field(f, "FILELESS_TIMESTAMP", "%llu", (unsigned long long) (ctx ? ctx->realtime_usec : 0));

        expect_escaped(f, "FILELESS_COMM", e->comm, sizeof(e->comm));
        expect_escaped(f, "FILELESS_PARENT_COMM", e->parent_comm, sizeof(e->parent_comm));
        expect_escaped(f, "FILELESS_EXEC_PATH", e->path, sizeof(e->path));
        if (has_unit)
                expect_escaped(f, "FILELESS_UNIT", ctx->unit, SIZE_MAX);

        file = fuzz_field(f, "FILELESS_FILE_NAME");
        if (e->flags & FL_EVENT_BY_PATH)
                fuzz_check_round_trip("FILELESS_FILE_NAME", file, e->path, strnlen(e->path, sizeof(e->path)));
        else if (e->kind == FL_KIND_SHM && ctx && ctx->shm_dir) {
                size_t k = strlen(ctx->shm_dir);

                FUZZ_ASSERT_STR(strncmp(file, ctx->shm_dir, k) == 0 && file[k] == '/', "FILELESS_FILE_NAME", file);
                fuzz_check_round_trip("FILELESS_FILE_NAME", file + k + 1, e->name, strnlen(e->name, sizeof(e->name)));
        } else
                fuzz_check_round_trip("FILELESS_FILE_NAME", file, e->name, strnlen(e->name, sizeof(e->name)));

        msg = f->message;
        fuzz_check_text("message", msg);
        check_sequence_length("message", msg);
        FUZZ_ASSERT_STR(fuzz_no_bare_quote(msg), "message", msg);
        {
                const char *verb = e->action == FL_ACTION_ALLOWED ? "Allowed" :
                                   e->action == FL_ACTION_DENIED  ? "Denied" :
                                   e->action == FL_ACTION_KILLED  ? "Killed" :
                                                                    "Saw";
                size_t k = strlen(verb);

                FUZZ_ASSERT_STR(strncmp(msg, verb, k) == 0 && strncmp(msg + k, " fileless execution of ", 23) == 0,
                                "message", msg);
        }
        FUZZ_ASSERT_STR(strstr(msg, file), "message without the file name", msg);
        FUZZ_ASSERT_STR(strstr(msg, fuzz_field(f, "FILELESS_COMM")), "message without the comm", msg);
}

static bool is_name_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of ' NAME="' at S, or 0. */
static size_t field_opening(const char *s) {
        size_t i = 1;

        if (s[0] != ' ')
                return 0;
        while (is_name_char(s[i]))
                i++;
        return i > 1 && s[i] == '=' && s[i + 1] == '"' ? i + 2 : 0;
}

/* Splits LINE as a reader that knows only the format would, and compares. */
static void check_line(const EventFields *f, const char *line) {
        const char *p = line, *start;
        size_t i;

        fuzz_check_text("line", line);
        check_sequence_length("line", line);

        while (*p && !field_opening(p))
                p++;
        if ((size_t) (p - line) != strlen(f->message) || strncmp(line, f->message, p - line) != 0) {
                fuzz_dump("line", line, strlen(line));
                FUZZ_FAIL("the line's message part (%zu bytes) is not the message (%zu bytes)", (size_t) (p - line),
                          strlen(f->message));
        }
        for (i = 0; *p; i++) {
                size_t open = field_opening(p), name_len;
                const char *eq;

                FUZZ_ASSERT_STR(open > 0, "line, at", p);
                FUZZ_ASSERT(i < f->n);
                name_len = open - 3;
                eq = strchr(f->fields[i], '=');
                FUZZ_ASSERT_STR((size_t) (eq - f->fields[i]) == name_len && strncmp(p + 1, f->fields[i], name_len) == 0,
                                "line, at", p);
                p += open;
                start = p;
                while (*p && *p != '"')
                        p += *p == '\\' && p[1] ? 2 : 1;
                FUZZ_ASSERT_STR(*p == '"', "line, unterminated value at", start);
                FUZZ_ASSERT_STR((size_t) (p - start) == strlen(eq + 1) && strncmp(start, eq + 1, p - start) == 0,
                                "line, value at", start);
                p++;
                FUZZ_ASSERT_STR(*p == 0 || *p == ' ', "line, after a value", p);
        }
        FUZZ_ASSERT(i == f->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        EventFields f = {};
        FuzzEvent fe;
        char *line = NULL;
        int r;

        fuzz_event_decode(data, size, &fe);

        r = event_format(&fe.e, fe.ctxp, &f);
        if (r < 0)
                FUZZ_FAIL("event_format() failed: %s", strerror(-r));
        check_fields(&fe, &f);

        r = event_format_line(&f, &line);
        if (r < 0)
                FUZZ_FAIL("event_format_line() failed: %s", strerror(-r));
        check_line(&f, line);

        free(line);
        event_fields_done(&f);
        FUZZ_ASSERT(f.n == 0 && !f.message);
        fuzz_event_done(&fe);
        return 0;
}
