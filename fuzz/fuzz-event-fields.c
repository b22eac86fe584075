/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* event_record_from_kernel() (src/event-fields.c) on a hostile ring buffer
 * record, and the journal entry and stderr line journal.c makes of it (see
 * fuzz-event-input.h for the input layout). Invariants:
 *  - both succeed, and the entry is MESSAGE, MESSAGE_ID, PRIORITY, OBJECT_PID
 *    and the 21 documented FILELESS_ fields, plus FILELESS_EXEC_COMM exactly
 *    when the record has an exec comm and FILELESS_UNIT, FILELESS_USER_UNIT,
 *    FILELESS_SCOPE exactly when there is one, each once;
 *  - every field is NAME=value with NAME a valid journal field name
 *    ([A-Z0-9_], not starting with a digit or '_', at most 64 characters);
 *  - every value, the message and the stderr line are valid UTF-8 (checked
 *    with utf8_sequence_length() and with an independent decoder), printable,
 *    free of newlines and deceptive code points (fuzz-common.h);
 *  - attacker strings (comm, exec comm, parent comm, program, file name, exec
 *    path, units, scope) are escaped reversibly: unescaping gives back the
 *    record's bytes, so nothing is lost and nothing is forged; numbers, names
 *    and the priority (allowed-trusted LOG_INFO, allowed LOG_NOTICE,
 *    kill-failed LOG_ERR, else LOG_WARNING) are the record's;
 *  - the message is exactly "VERB fileless execution by pid PID ("COMM",
 *    program "PROGRAM"), uid UID: [#! script in ]KIND "FILE" via "PATH";
 *    profile P, backend B", or for another operation "VERB fileless
 *    executable mapping (OP) by ...: [#! script in ]KIND "FILE"; profile P,
 *    backend B", with the escaped fields, so no string can put words before
 *    who did it;
 *  - the line is the message, its quotes and backslashes escaped, and then
 *    NAME="value" for every other field, and a parser that knows no field in
 *    advance splits it back into exactly those;
 *  - filelesslockctl's way back: each FILELESS_ value parses with
 *    event_value_parse() to the record's value; and a string that is not a
 *    value of a field's type is refused for it, one that is parses to the
 *    canonical form it was written in. */

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "escape.h"
#include "event-fields.h"
#include "fuzz-common.h"
#include "fuzz-event-input.h"
#include "journal.h"
#include "message-ids.h"

/* Fields every entry has, in this order first. */
static const char *const head_names[] = { "MESSAGE", "MESSAGE_ID", "PRIORITY", "OBJECT_PID" };
static const char *const base_names[] = {
        "FILELESS_ACTION",    "FILELESS_OPERATION", "FILELESS_KIND",          "FILELESS_PROFILE",
        "FILELESS_BACKEND",   "FILELESS_SCRIPT",    "FILELESS_PID",           "FILELESS_PPID",
        "FILELESS_UID",       "FILELESS_GID",       "FILELESS_COMM",          "FILELESS_PARENT_COMM",
        "FILELESS_PROGRAM",   "FILELESS_PROGRAM_INODE", "FILELESS_FILE_NAME", "FILELESS_EXEC_PATH",     "FILELESS_INODE",
        "FILELESS_DEVICE",    "FILELESS_PID_NAMESPACE",                       "FILELESS_PID_NAMESPACE_LEVEL",
        "FILELESS_CGROUP_ID", "FILELESS_TIMESTAMP",
};
static const char *const optional_names[] = {
        "FILELESS_EXEC_COMM", "FILELESS_UNIT", "FILELESS_USER_UNIT", "FILELESS_SCOPE",
};
#define N_HEAD (sizeof(head_names) / sizeof(head_names[0]))
#define N_BASE (sizeof(base_names) / sizeof(base_names[0]))
#define N_OPTIONAL (sizeof(optional_names) / sizeof(optional_names[0]))

/* The value of field NAME, or NULL when F has none. */
static const char *field_value(const JournalFields *f, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < f->n; i++)
                if (strncmp(f->v[i], name, n) == 0 && f->v[i][n] == '=')
                        return f->v[i] + n + 1;
        return NULL;
}

static bool journal_field_name_valid(const char *s, size_t n) {
        if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9') || s[0] == '_')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

/* S must be a sequence of complete utf8_sequence_length() sequences: the
 * daemon's own decoder accepts what it wrote. */
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

__attribute__((format(printf, 3, 4))) static void expect_field(const JournalFields *f, const char *name,
                                                               const char *format, ...) {
        const char *v = field_value(f, name);
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

static void expect_escaped(const JournalFields *f, const char *name, const char *orig, size_t maxlen) {
        const char *v = field_value(f, name);

        FUZZ_ASSERT_STR(v, "missing field", name);
        fuzz_check_round_trip(name, v, orig, strnlen(orig, maxlen));
}

static const char *verb_of(int action) {
        switch (action) {
        case FL_ACTION_ALLOWED:
                return "Allowed";
        case FL_ACTION_DENIED:
                return "Denied";
        case FL_ACTION_KILLED:
                return "Killed";
        case FL_ACTION_KILL_FAILED:
                return "FAILED to kill";
        case FL_ACTION_TRUSTED:
                return "Allowed (trusted executable)";
        default:
                return "Saw";
        }
}

static int priority_of(int action) {
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

static void check_fields(const FuzzEvent *fe, const EventRecord *r, const JournalFields *f) {
        const struct fl_event *e = &fe->e;
        const EventContext *ctx = fe->ctxp;
        bool has[N_OPTIONAL] = {
                e->exec_comm[0] != 0,
                ctx && ctx->unit && *ctx->unit,
                ctx && ctx->user_unit && *ctx->user_unit,
                ctx && ctx->scope && *ctx->scope,
        };
        size_t counts[N_BASE + N_OPTIONAL] = {}, n_optional = 0;
        bool exec = e->op == FL_OP_EXEC;
        const char *file, *path;
        char *msg, *what;

        for (size_t j = 0; j < N_OPTIONAL; j++)
                n_optional += has[j];
        FUZZ_ASSERT(f->n == N_HEAD + N_BASE + n_optional);
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->v[i], '=');
                bool known = false;

                FUZZ_ASSERT_STR(eq, "field", f->v[i]);
                FUZZ_ASSERT_STR(journal_field_name_valid(f->v[i], eq - f->v[i]), "field", f->v[i]);
                fuzz_check_text("field", f->v[i]);
                check_sequence_length("field", f->v[i]);
                /* the message quotes the process's strings; every other
                 * value must fit between quotes in the line */
                if (i > 0)
                        FUZZ_ASSERT_STR(fuzz_no_bare_quote(eq + 1), "field", f->v[i]);
                if (i < N_HEAD) {
                        size_t len = strlen(head_names[i]);

                        FUZZ_ASSERT_STR((size_t) (eq - f->v[i]) == len && strncmp(f->v[i], head_names[i], len) == 0,
                                        "field in the place of the head fields", f->v[i]);
                        continue;
                }
                for (size_t j = 0; j < N_BASE + N_OPTIONAL; j++) {
                        const char *name = j < N_BASE ? base_names[j] : optional_names[j - N_BASE];
                        size_t len = strlen(name);

                        if ((size_t) (eq - f->v[i]) == len && strncmp(f->v[i], name, len) == 0) {
                                counts[j]++;
                                known = true;
                        }
                }
                FUZZ_ASSERT_STR(known, "unexpected field", f->v[i]);
        }
        for (size_t j = 0; j < N_BASE; j++)
                if (counts[j] != 1)
                        FUZZ_FAIL("field %s appears %zu times", base_names[j], counts[j]);
        for (size_t j = 0; j < N_OPTIONAL; j++)
                if (counts[N_BASE + j] != (size_t) has[j])
                        FUZZ_FAIL("field %s appears %zu times, expected %d", optional_names[j], counts[N_BASE + j],
                                  has[j]);

        FUZZ_ASSERT(r->priority == priority_of(e->action));
        expect_field(f, "MESSAGE_ID", "%s", FL_MESSAGE_FILELESS_EXEC);
        expect_field(f, "PRIORITY", "%d", r->priority);
        expect_field(f, "OBJECT_PID", "%u", e->pid);
        expect_field(f, "FILELESS_ACTION", "%s", FUZZ_ACTION(e));
        expect_field(f, "FILELESS_OPERATION", "%s", FUZZ_OP(e));
        expect_field(f, "FILELESS_KIND", "%s", FUZZ_KIND(e));
        expect_field(f, "FILELESS_PROFILE", "%s", FUZZ_PROFILE(e));
        expect_field(f, "FILELESS_BACKEND", "%s", FUZZ_BACKEND(e));
        expect_field(f, "FILELESS_SCRIPT", "%d", (e->flags & FL_EVENT_SCRIPT) ? 1 : 0);
        expect_field(f, "FILELESS_PID", "%u", e->pid);
        expect_field(f, "FILELESS_PPID", "%u", e->ppid);
        expect_field(f, "FILELESS_UID", "%u", e->uid);
        expect_field(f, "FILELESS_GID", "%u", e->gid);
        expect_field(f, "FILELESS_PROGRAM_INODE", "%llu", (unsigned long long) e->prog_inode);
        expect_field(f, "FILELESS_INODE", "%llu", (unsigned long long) e->inode);
        /* kernel encoding: major << 20 | minor */
        expect_field(f, "FILELESS_DEVICE", "%u:%u", (unsigned) (e->dev >> 20), (unsigned) (e->dev & 0xfffff));
        expect_field(f, "FILELESS_PID_NAMESPACE", "%u", e->pidns);
        expect_field(f, "FILELESS_PID_NAMESPACE_LEVEL", "%u", e->pidns_level);
        expect_field(f, "FILELESS_CGROUP_ID", "%llu", (unsigned long long) e->cgroup_id);
        expect_field(f, "FILELESS_TIMESTAMP", "%llu", (unsigned long long) (ctx ? ctx->realtime_usec : 0));

        expect_escaped(f, "FILELESS_COMM", e->comm, sizeof(e->comm));
        expect_escaped(f, "FILELESS_PARENT_COMM", e->parent_comm, sizeof(e->parent_comm));
        expect_escaped(f, "FILELESS_PROGRAM", e->program, sizeof(e->program));
        expect_escaped(f, "FILELESS_EXEC_PATH", e->path, sizeof(e->path));
        if (has[0])
                expect_escaped(f, "FILELESS_EXEC_COMM", e->exec_comm, sizeof(e->exec_comm));
        if (has[1])
                expect_escaped(f, "FILELESS_UNIT", ctx->unit, SIZE_MAX);
        if (has[2])
                expect_escaped(f, "FILELESS_USER_UNIT", ctx->user_unit, SIZE_MAX);
        if (has[3])
                expect_escaped(f, "FILELESS_SCOPE", ctx->scope, SIZE_MAX);

        file = field_value(f, "FILELESS_FILE_NAME");
        if (e->flags & FL_EVENT_BY_PATH)
                fuzz_check_round_trip("FILELESS_FILE_NAME", file, e->path, strnlen(e->path, sizeof(e->path)));
        else if (e->kind == FL_KIND_SHM && ctx && ctx->shm_dir) {
                size_t k = strlen(ctx->shm_dir);

                FUZZ_ASSERT_STR(strncmp(file, ctx->shm_dir, k) == 0 && file[k] == '/', "FILELESS_FILE_NAME", file);
                fuzz_check_round_trip("FILELESS_FILE_NAME", file + k + 1, e->name, strnlen(e->name, sizeof(e->name)));
        } else
                fuzz_check_round_trip("FILELESS_FILE_NAME", file, e->name, strnlen(e->name, sizeof(e->name)));

        /* The message, exactly, from the escaped fields. */
        FUZZ_ASSERT(r->message);
        path = field_value(f, "FILELESS_EXEC_PATH");
        if (exec ? asprintf(&what, "execution") < 0 : asprintf(&what, "executable mapping (%s)", FUZZ_OP(e)) < 0)
                abort();
        if (asprintf(&msg, "%s fileless %s by pid %u (\"%s\", program \"%s\"), uid %u: %s%s \"%s\"%s%s%s; profile %s, "
                           "backend %s",
                     verb_of(e->action), what, e->pid, field_value(f, "FILELESS_COMM"),
                     field_value(f, "FILELESS_PROGRAM"), e->uid, e->flags & FL_EVENT_SCRIPT ? "#! script in " : "",
                     FUZZ_KIND(e), file, exec ? " via \"" : "", exec ? (*path ? path : "-") : "", exec ? "\"" : "",
                     FUZZ_PROFILE(e), FUZZ_BACKEND(e)) < 0)
                abort();
        free(what);
        if (strcmp(r->message, msg) != 0) {
                fuzz_dump("message", r->message, strlen(r->message));
                fuzz_dump("expected", msg, strlen(msg));
                FUZZ_FAIL("the message is not the documented sentence of the escaped fields");
        }
        free(msg);
        FUZZ_ASSERT(streq(field_value(f, "MESSAGE"), r->message));
        fuzz_check_text("message", r->message);
        check_sequence_length("message", r->message);
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

/* The stderr line's form of the message: a backslash before each '"' and
 * '\\' (journal.h). */
static char *line_escaped(const char *message) {
        char *out = malloc(2 * strlen(message) + 1), *p = out;

        if (!out)
                abort();
        for (; *message; message++) {
                if (*message == '"' || *message == '\\')
                        *p++ = '\\';
                *p++ = *message;
        }
        *p = 0;
        return out;
}

/* Splits LINE as a reader that knows only the format would (as
 * tests/e2e/fltest.py's parse_stderr_entry() does: the first ' NAME="' ends
 * the message), and compares: the message, escaped, then every field but
 * MESSAGE= in order. */
static void check_line(const EventRecord *r, const JournalFields *f, const char *line) {
        const char *p = line, *start;
        char *escaped = line_escaped(r->message);
        size_t i = 0, n = strlen(escaped);

        fuzz_check_text("line", line);
        check_sequence_length("line", line);
        FUZZ_ASSERT_STR(strncmp(line, escaped, n) == 0, "line", line);

        while (*p && !field_opening(p))
                p++;
        if ((size_t) (p - line) != n) {
                fuzz_dump("line", line, strlen(line));
                FUZZ_FAIL("the line's message part (%zu bytes) is not the escaped message (%zu bytes)",
                          (size_t) (p - line), n);
        }
        free(escaped);
        while (*p) {
                size_t open = field_opening(p), name_len;
                const char *eq;

                if (i < f->n && strncmp(f->v[i], "MESSAGE=", 8) == 0)
                        i++;
                FUZZ_ASSERT_STR(open > 0, "line, at", p);
                FUZZ_ASSERT(i < f->n);
                name_len = open - 3;
                eq = strchr(f->v[i], '=');
                FUZZ_ASSERT_STR((size_t) (eq - f->v[i]) == name_len && strncmp(p + 1, f->v[i], name_len) == 0,
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
                i++;
        }
        FUZZ_ASSERT(i == f->n);
}

/* filelesslockctl events: every FILELESS_ field back through
 * event_value_parse() gives the record's value. */
static void check_parse_back(const FuzzEvent *fe, const EventRecord *r, const JournalFields *f) {
        EventRecord back = {};

        for (size_t i = N_HEAD; i < f->n; i++) {
                const char *eq = strchr(f->v[i], '=');
                char *name = strndup(f->v[i], eq - f->v[i]);
                EventField k;
                int q;

                FUZZ_ASSERT(name);
                k = event_field_from_journal(name);
                FUZZ_ASSERT_STR(k >= 0, "a field in no row", name);
                q = event_value_parse(&back, k, eq + 1);
                /* A device is 32 bits in the kernel (s_dev): a record with
                 * more has a major that "major:minor" does not carry (it is
                 * cut to 32 bits, and then refused above 4095 or not). */
                if (k == EVENT_DEVICE && fe->e.dev >> 32) {
                        FUZZ_ASSERT(q == 0 || q == -EINVAL);
                        back.values[k] = r->values[k];
                        free(name);
                        continue;
                }
                if (q < 0)
                        FUZZ_FAIL("%s does not parse back: %s", f->v[i], strerror(-q));
                free(name);
        }
        for (EventField k = 0; k < _EVENT_FIELD_MAX; k++) {
                const EventValue *a = &r->values[k], *b = &back.values[k];

                FUZZ_ASSERT(a->set == b->set);
                if (!a->set)
                        continue;
                if (event_field_table[k].type == EVENT_TYPE_STRING)
                        FUZZ_ASSERT_STR(streq(a->str, b->str), event_field_table[k].journal, b->str);
                else if (a->num != b->num)
                        FUZZ_FAIL("%s parses back as %llu, the record has %llu", event_field_table[k].journal,
                                  (unsigned long long) b->num, (unsigned long long) a->num);
        }
        event_record_done(&back);
}

/* VALUE, any string, as the value of every field: a number field takes only
 * its canonical decimal form (no sign, space or leading zero) within its
 * range, a device only "major:minor" within 12:20 bits; what is refused
 * leaves the value alone; a string field takes anything, as it is. */
static void check_parse_any(const char *value) {
        for (EventField k = 0; k < _EVENT_FIELD_MAX; k++) {
                EventRecord r = {};
                char *back = NULL;
                int q;

                event_record_set_number(&r, k, 4242);
                if (event_field_table[k].type == EVENT_TYPE_STRING)
                        r.values[k] = (EventValue) {};
                q = event_value_parse(&r, k, value);
                if (q < 0) {
                        FUZZ_ASSERT(q == -EINVAL);
                        FUZZ_ASSERT(event_field_table[k].type != EVENT_TYPE_STRING);
                        FUZZ_ASSERT(r.values[k].set && r.values[k].num == 4242);
                        continue;
                }
                FUZZ_ASSERT(q == 0 && r.values[k].set);
                FUZZ_ASSERT(event_value_format(&r, k, &back) == 0);
                if (strcmp(back, value) != 0) {
                        fuzz_dump("value", value, strlen(value));
                        fuzz_dump("formatted back", back, strlen(back));
                        FUZZ_FAIL("%s accepted a value that is not in its canonical form",
                                  event_field_table[k].journal);
                }
                switch (event_field_table[k].type) {
                case EVENT_TYPE_U32:
                        FUZZ_ASSERT(r.values[k].num <= UINT32_MAX);
                        break;
                case EVENT_TYPE_BOOL:
                        FUZZ_ASSERT_STR(r.values[k].num <= 1, "boolean", value);
                        break;
                case EVENT_TYPE_DEVICE:
                        FUZZ_ASSERT(r.values[k].num >> 32 == 0);
                        break;
                default:
                        break;
                }
                free(back);
                event_record_done(&r);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(event_record_done) EventRecord r = {};
        _cleanup_(journal_fields_done) JournalFields f = {};
        char *line = NULL;
        FuzzEvent fe;
        int q;

        fuzz_event_decode(data, size, &fe);

        q = event_record_from_kernel(&fe.e, fe.ctxp, &r);
        if (q < 0)
                FUZZ_FAIL("event_record_from_kernel() failed: %s", strerror(-q));
        q = journal_fields_from_event(&r, &f);
        if (q < 0)
                FUZZ_FAIL("journal_fields_from_event() failed: %s", strerror(-q));
        check_fields(&fe, &r, &f);

        q = journal_fields_line(&f, &line);
        if (q < 0)
                FUZZ_FAIL("journal_fields_line() failed: %s", strerror(-q));
        check_line(&r, &f, line);
        free(line);

        check_parse_back(&fe, &r, &f);
        check_parse_any(fe.unit ? fe.unit : fe.user_unit ? fe.user_unit : fe.scope ? fe.scope : "");

        journal_fields_done(&f);
        FUZZ_ASSERT(f.n == 0 && !f.v);
        event_record_done(&r);
        FUZZ_ASSERT(!r.message);
        fuzz_event_done(&fe);
        return 0;
}
