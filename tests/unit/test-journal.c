/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* src/journal.c: the structured entry as fields, the stderr line, and
 * journal_struct()'s "FIELD=format", args..., NULL list, run through its
 * stderr fallback: each case that sends runs in a child whose stderr is a pipe
 * and which cannot see journald's socket (journal.c stats
 * /run/systemd/journal/socket and falls back when it is missing). */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "event-fields.h"
#include "journal.h"
#include "message-ids.h"
#include "tests.h"

/* The stderr line's form of a message: a backslash before each '"' and '\\'
 * (journal.h), written here from that description. */
static char *line_escaped(const char *message) {
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

#define JOURNAL_SOCKET_DIR "/run/systemd/journal"
#define JOURNAL_SOCKET JOURNAL_SOCKET_DIR "/socket"
#define WARNING_UNREACHABLE                                                                                          \
        "Cannot write to the journal (" JOURNAL_SOCKET ": No such file or directory): events go to stderr until it " \
        "is back.\n"

static void fields_set(JournalFields *f, const char *const *v) {
        *f = (JournalFields) {};
        for (; *v; v++)
                ASSERT_INT_EQ(journal_fields_add(f, "%s", *v), 0);
}

static void assert_fields(const JournalFields *f, const char *const *expected) {
        size_t n = 0;

        for (; expected[n]; n++) {
                if (n >= f->n)
                        TEST_FAIL("field %zu missing, expected \"%s\"", n, expected[n]);
                ASSERT_STREQ(f->v[n], expected[n]);
        }
        ASSERT_INT_EQ(f->n, n);
}

/* ---- JournalFields and the stderr line ---- */

static void test_fields_add(void) {
        JournalFields f = {};

        ASSERT_INT_EQ(journal_fields_add(&f, "A=%s", "x"), 0);
        ASSERT_INT_EQ(journal_fields_add(&f, "B=%u/%s", 7u, "y"), 0);
        ASSERT_INT_EQ(journal_fields_add(&f, "C="), 0);
        assert_fields(&f, (const char *const[]) { "A=x", "B=7/y", "C=", NULL });
        journal_fields_done(&f);
        ASSERT_INT_EQ(f.n, 0);
        ASSERT_NULL(f.v);
        /* done twice, and on nothing, is harmless */
        journal_fields_done(&f);
}

static char *line_of(const char *const *v) {
        JournalFields f;
        char *line = NULL;

        fields_set(&f, v);
        ASSERT_INT_EQ(journal_fields_line(&f, &line), 0);
        ASSERT_NOT_NULL(line);
        journal_fields_done(&f);
        return line;
}

static void test_fields_line_exact(void) {
        char *line;

        line = line_of((const char *const[]) { "MESSAGE=hello world", "A=1", "B=x=\\\"y\\\"", "C=", NULL });
        ASSERT_STREQ(line, "hello world A=\"1\" B=\"x=\\\"y\\\"\" C=\"\"");
        free(line);

        /* the message comes first wherever its field is */
        line = line_of((const char *const[]) { "A=1", "MESSAGE=hello world", "B=2", NULL });
        ASSERT_STREQ(line, "hello world A=\"1\" B=\"2\"");
        free(line);

        /* no fields but the message */
        line = line_of((const char *const[]) { "MESSAGE=hello world", NULL });
        ASSERT_STREQ(line, "hello world");
        free(line);

        /* an empty message, and a value holding '=' and a MESSAGE= of its own */
        line = line_of((const char *const[]) { "MESSAGE=", "A=MESSAGE=x", NULL });
        ASSERT_STREQ(line, " A=\"MESSAGE=x\"");
        free(line);

        /* a string without '=' is no field and is left out */
        line = line_of((const char *const[]) { "MESSAGE=m", "junk", "A=1", NULL });
        ASSERT_STREQ(line, "m A=\"1\"");
        free(line);

        line = line_of((const char *const[]) { NULL });
        ASSERT_STREQ(line, "");
        free(line);

        /* since 672f029 the message's quotes and backslashes are escaped
         * once more: none of it can close or open a quoted value */
        line = line_of((const char *const[]) { "MESSAGE=a \"b\" \\c \\\" d", "A=1", NULL });
        ASSERT_STREQ(line, "a \\\"b\\\" \\\\c \\\\\\\" d A=\"1\"");
        free(line);
        line = line_of((const char *const[]) { "MESSAGE=\"", NULL });
        ASSERT_STREQ(line, "\\\"");
        free(line);
        line = line_of((const char *const[]) { "MESSAGE=\\", NULL });
        ASSERT_STREQ(line, "\\\\");
        free(line);
        /* only the message: values are escaped already and copied as they are */
        line = line_of((const char *const[]) { "MESSAGE=m", "A=x\\\"y", NULL });
        ASSERT_STREQ(line, "m A=\"x\\\"y\"");
        free(line);
}

/* The line's length is exactly what it holds: a message of nothing but
 * quotes and backslashes (each doubled) with many fields (ASan: one byte too
 * many is an overflow, journal_fields_line() sizes the buffer itself). */
static void test_fields_line_size(void) {
        for (size_t n = 0; n < 64; n++) {
                JournalFields f = {};
                char *line = NULL, *message = malloc(n + 9), *expected = malloc(2 * n + 1);

                ASSERT_NOT_NULL(message);
                ASSERT_NOT_NULL(expected);
                strcpy(message, "MESSAGE=");
                for (size_t i = 0; i < n; i++) {
                        message[8 + i] = i % 2 ? '"' : '\\';
                        expected[2 * i] = '\\';
                        expected[2 * i + 1] = message[8 + i];
                }
                message[8 + n] = 0;
                expected[2 * n] = 0;
                ASSERT_INT_EQ(journal_fields_add(&f, "%s", message), 0);
                for (size_t i = 0; i < n % 5; i++)
                        ASSERT_INT_EQ(journal_fields_add(&f, "F%zu=", i), 0);
                ASSERT_INT_EQ(journal_fields_line(&f, &line), 0);
                ASSERT_STARTSWITH(line, expected);
                ASSERT_INT_EQ(strlen(line), 2 * n + (n % 5) * strlen(" Fx=\"\""));
                free(line);
                free(expected);
                free(message);
                journal_fields_done(&f);
        }
}

/* journal_fields_from_event(): MESSAGE, MESSAGE_ID, PRIORITY, OBJECT_PID,
 * then exactly the fields the record has, in the table's order. */
static void test_fields_from_event(void) {
        EventRecord r = {};
        JournalFields f = {};

        r.message = strdup("the message");
        ASSERT_NOT_NULL(r.message);
        r.priority = LOG_NOTICE;
        event_record_set_number(&r, EVENT_UID, 1000);
        event_record_set_number(&r, EVENT_PID, 77);
        ASSERT_INT_EQ(event_record_set_string(&r, EVENT_COMM, "sh\n", SIZE_MAX), 0);
        event_record_set_number(&r, EVENT_DEVICE, ((uint64_t) 8 << 20) | 1);
        event_record_set_number(&r, EVENT_SCRIPT, 1);

        ASSERT_INT_EQ(journal_fields_from_event(&r, &f), 0);
        assert_fields(&f, (const char *const[]) {
                                  "MESSAGE=the message",
                                  "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC,
                                  "PRIORITY=5",
                                  "OBJECT_PID=77",
                                  "FILELESS_SCRIPT=1",
                                  "FILELESS_PID=77",
                                  "FILELESS_UID=1000",
                                  "FILELESS_COMM=sh\\n",
                                  "FILELESS_DEVICE=8:1",
                                  NULL,
                          });
        journal_fields_done(&f);

        /* a field unset again is left out; a set empty string is not */
        r.values[EVENT_UID].set = false;
        ASSERT_INT_EQ(event_record_set_string(&r, EVENT_UNIT, "", SIZE_MAX), 0);
        r.priority = LOG_WARNING;
        ASSERT_INT_EQ(journal_fields_from_event(&r, &f), 0);
        assert_fields(&f, (const char *const[]) {
                                  "MESSAGE=the message",
                                  "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC,
                                  "PRIORITY=4",
                                  "OBJECT_PID=77",
                                  "FILELESS_SCRIPT=1",
                                  "FILELESS_PID=77",
                                  "FILELESS_COMM=sh\\n",
                                  "FILELESS_DEVICE=8:1",
                                  "FILELESS_UNIT=",
                                  NULL,
                          });
        journal_fields_done(&f);
        event_record_done(&r);
}

/* ---- Sending, through the stderr fallback ---- */

/* journald's socket out of sight: a tmpfs over its directory in a mount
 * namespace of our own (a user namespace too when we are not root). */
static void hide_journal_socket(void) {
        if (access(JOURNAL_SOCKET, F_OK) < 0 && errno == ENOENT)
                return;
        if (unshare(CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER)) < 0)
                TEST_FAIL("%s exists, and a mount namespace to hide it in cannot be made: %m", JOURNAL_SOCKET);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", JOURNAL_SOCKET_DIR, "tmpfs", 0, "mode=0755") < 0)
                TEST_FAIL("cannot hide %s: %m", JOURNAL_SOCKET);
        ASSERT_TRUE(access(JOURNAL_SOCKET, F_OK) < 0);
}

/* Runs FN in a child with stderr into a pipe; returns what it wrote, and its
 * exit status in *ret_status (FN's return value as -errno, or 0). */
static char *run_captured(int (*fn)(void *userdata), void *userdata, int *ret_status) {
        char *out = NULL;
        size_t size = 0;
        int fds[2], status;
        FILE *f;
        pid_t pid;

        ASSERT_INT_EQ(pipe2(fds, O_CLOEXEC), 0);
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int r;

                hide_journal_socket();
                if (dup2(fds[1], STDERR_FILENO) < 0)
                        _exit(100);
                r = fn(userdata);
                fflush(stderr);
                _exit(r < 0 ? (-r) & 0x7f : 0);
        }
        close(fds[1]);
        f = open_memstream(&out, &size);
        ASSERT_NOT_NULL(f);
        for (;;) {
                char buf[4096];
                ssize_t n = read(fds[0], buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                ASSERT_TRUE(n >= 0);
                if (n == 0)
                        break;
                ASSERT_INT_EQ(fwrite(buf, 1, (size_t) n, f), (size_t) n);
        }
        ASSERT_INT_EQ(fclose(f), 0);
        close(fds[0]);
        ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status))
                TEST_FAIL("the child died of signal %d; its stderr: \"%s\"", WTERMSIG(status), out);
        *ret_status = WEXITSTATUS(status);
        return out;
}

/* Every conversion a caller is likely to write, with its arguments of every
 * width, so that va_skip_format() has to find each field's end right: one
 * argument too few or too many and every later field is garbage (or a crash). */
static int send_mixed(void *userdata) {
        errno = EPERM; /* for %m, which takes no argument */
        return journal_struct(LOG_NOTICE, "0123456789abcdef0123456789abcdef",
                              "S=%s", "str",
                              "U=%u", 4000000000u,
                              "LLU=%llu", 18446744073709551615ULL,
                              "U64=%" PRIu64, (uint64_t) 1 << 40,
                              "I=%i", -42,
                              "P=%.*s", 3, "abcdef",
                              "PCT=100%% of %s", "it",
                              "MIX=%s/%u/%i/%" PRIu64 "/%s", "a", 1u, -1, UINT64_MAX, "z",
                              "W=%5d|%-3s|%05.1f|%+d|%#x", 42, "x", 3.14159, 5, 255u,
                              "Z=%zu %jd %hhu %hd %ld %lx %c %p", (size_t) 7, (intmax_t) -8, 9, -10, 11L, 255UL, 'q',
                              (void *) 0x1234,
                              "LD=%Lf %e %g", 1.5L, 2.0, 0.25,
                              "STAR=%*d|%-*.*s|", 4, 7, 5, 2, "xyz",
                              "M=%m", "AFTER=%s", "ok",
                              MESSAGE("hello %s %d%%", "world", 5),
                              NULL);
}

static void test_struct_formats(void) {
        char *out, expected[2048];
        int status;

        out = run_captured(send_mixed, NULL, &status);
        snprintf(expected, sizeof(expected),
                 WARNING_UNREACHABLE
                 "filelesslock: hello world 5%% MESSAGE_ID=\"0123456789abcdef0123456789abcdef\" PRIORITY=\"5\" "
                 "S=\"str\" U=\"4000000000\" LLU=\"18446744073709551615\" U64=\"1099511627776\" I=\"-42\" P=\"abc\" "
                 "PCT=\"100%% of it\" MIX=\"a/1/-1/18446744073709551615/z\" W=\"   42|x  |003.1|+5|0xff\" "
                 "Z=\"7 -8 9 -10 11 ff q %p\" LD=\"1.500000 2.000000e+00 0.25\" STAR=\"   7|xy   |\" "
                 "M=\"%s\" AFTER=\"ok\"\n",
                 (void *) 0x1234, strerror(EPERM));
        ASSERT_STREQ(out, expected);
        /* journald unreachable: the stderr line is the fallback, and an error */
        ASSERT_INT_EQ(status, ENOENT);
        free(out);
}

static int send_two(void *userdata) {
        int r;

        r = journal_struct(LOG_INFO, FL_MESSAGE_STARTED, "FILELESS_PROFILE=%s", "baseline", MESSAGE("one"), NULL);
        if (r != -ENOENT)
                return -EBADE;
        return journal_struct(LOG_WARNING, FL_MESSAGE_STOPPED, MESSAGE("two %u", 2u), "FILELESS_PINS=%s", "gone",
                              NULL);
}

static void test_struct_warns_once(void) {
        char *out;
        int status;

        out = run_captured(send_two, NULL, &status);
        /* the switch to stderr is announced once, not per entry */
        ASSERT_STREQ(out, WARNING_UNREACHABLE
                     "filelesslock: one MESSAGE_ID=\"" FL_MESSAGE_STARTED "\" PRIORITY=\"6\" "
                     "FILELESS_PROFILE=\"baseline\"\n"
                     "filelesslock: two 2 MESSAGE_ID=\"" FL_MESSAGE_STOPPED "\" PRIORITY=\"4\" "
                     "FILELESS_PINS=\"gone\"\n");
        ASSERT_INT_EQ(status, ENOENT);
        free(out);
}

/* Formats va_skip_format() cannot walk: refused, nothing sent. */
static int send_positional(void *userdata) {
        return journal_struct(LOG_INFO, "id", "A=%s", "x", "B=%1$s", "y", MESSAGE("m"), NULL);
}

static _unused_ int send_unknown_conversion(void *userdata) {
        return journal_struct(LOG_INFO, "id", "A=%s", "x", "B=%k", MESSAGE("m"), NULL);
}

/* A format that ends inside a conversion: vasprintf() refuses it, and
 * va_skip_format() must not walk past its end either (672f029). */
static int send_truncated_percent(void *userdata) {
        return journal_struct(LOG_INFO, "id", "A=%s", "x", "B=%", MESSAGE("m"), NULL);
}

static int send_truncated_length(void *userdata) {
        return journal_struct(LOG_INFO, "id", "A=%s", "x", "B=%5.l", MESSAGE("m"), NULL);
}

static int send_truncated_star(void *userdata) {
        return journal_struct(LOG_INFO, "id", "B=%*", 5, MESSAGE("m"), NULL);
}

static void test_struct_truncated_format(void) {
        int (*const senders[])(void *) = { send_truncated_percent, send_truncated_length, send_truncated_star };

        for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
                char *out;
                int status;

                out = run_captured(senders[i], NULL, &status);
                /* refused, nothing sent (not even the stderr line of the
                 * fields before it) */
                ASSERT_STARTSWITH(out, "Failed to format a journal entry: ");
                ASSERT_TRUE(strchr(out, '\n') == out + strlen(out) - 1);
                ASSERT_NOT_CONTAINS(out, "filelesslock:");
                ASSERT_TRUE(status != 0);
                free(out);
        }
}

static void test_struct_bad_format(void) {
        int (*const senders[])(void *) = {
                send_positional,
#ifndef __SANITIZE_ADDRESS__
                /* AddressSanitizer's printf interceptor reports %k, which
                 * fails the sanitizer build's run: the plain build covers it */
                send_unknown_conversion,
#endif
        };

        for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
                char *out;
                int status;

                out = run_captured(senders[i], NULL, &status);
                ASSERT_STREQ(out, "Failed to format a journal entry: Invalid argument\n");
                ASSERT_INT_EQ(status, EINVAL);
                free(out);
        }
}

static int send_event(void *userdata) {
        return journal_send_event(userdata);
}

/* The event's line on stderr is journal_fields_line() of its fields. */
static void test_send_event(void) {
        struct fl_event e = {
                .pid = 4242, .uid = 1000, .kind = FL_KIND_MEMFD, .action = FL_ACTION_DENIED,
                .profile = FL_PROFILE_BASELINE, .backend = FL_BACKEND_LSM, .dev = 25,
        };
        EventContext ctx = { .realtime_usec = 99, .unit = "a \"b\".service" };
        EventRecord r = {};
        JournalFields f = {};
        char *out, *line, *expected;
        int status;

        strcpy(e.comm, "x\"y");
        strcpy(e.name, "memfd:\n");
        ASSERT_INT_EQ(event_record_from_kernel(&e, &ctx, &r), 0);
        ASSERT_INT_EQ(journal_fields_from_event(&r, &f), 0);
        ASSERT_INT_EQ(journal_fields_line(&f, &line), 0);
        ASSERT_TRUE(asprintf(&expected, WARNING_UNREACHABLE "filelesslock: %s\n", line) > 0);

        out = run_captured(send_event, &r, &status);
        ASSERT_STREQ(out, expected);
        ASSERT_INT_EQ(status, ENOENT);
        ASSERT_CONTAINS(out, " FILELESS_UNIT=\"a \\\"b\\\".service\" ");
        ASSERT_CONTAINS(out, " FILELESS_FILE_NAME=\"memfd:\\n\" ");

        free(out);
        free(expected);
        free(line);
        journal_fields_done(&f);
        event_record_done(&r);
}

/* Where a reader that knows no field names (tests/e2e/fltest.py's
 * parse_stderr_entry(): the first ' [A-Z_]+="' ends the message) cuts LINE. */
static size_t line_message_end(const char *line) {
        for (const char *p = line; *p; p++) {
                const char *q = p + 1;

                if (*p != ' ')
                        continue;
                while ((*q >= 'A' && *q <= 'Z') || *q == '_')
                        q++;
                if (q > p + 1 && q[0] == '=' && q[1] == '"')
                        return (size_t) (p - line);
        }
        return strlen(line);
}

/* The stderr line says where the message ends whatever the process named
 * things: the message quotes the process's strings, and a memfd named
 * "x FILELESS_UID=" put ' FILELESS_UID="' into the line, so that such a
 * reader cut the message there and read a field FILELESS_UID=" via ". Fixed
 * in 672f029: the message's quotes are escaped in the line, so the reader
 * cuts it exactly at its end. */
static void assert_line_unambiguous(const struct fl_event *e) {
        EventRecord r = {};
        JournalFields f = {};
        char *line = NULL, *escaped;
        size_t end;

        ASSERT_INT_EQ(event_record_from_kernel(e, NULL, &r), 0);
        ASSERT_INT_EQ(journal_fields_from_event(&r, &f), 0);
        ASSERT_INT_EQ(journal_fields_line(&f, &line), 0);
        escaped = line_escaped(r.message);
        end = line_message_end(line);
        if (end != strlen(escaped) || strncmp(line, escaped, end) != 0)
                TEST_FAIL("the reader cuts the message at %zu of \"%s\", it is %zu bytes: \"%s\"", end, line,
                          strlen(escaped), escaped);
        free(escaped);
        free(line);
        journal_fields_done(&f);
        event_record_done(&r);
}

static void test_line_message_unambiguous(void) {
        static const char *const names[] = {
                "memfd:x FILELESS_UID=",
                "memfd:x\" FILELESS_UID=\"0",
                "memfd:x\\\" FILELESS_UID=\\\"0\\",
                "memfd:\" A=\"",
                "memfd:\\",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                struct fl_event e = { .pid = 1, .uid = 1000, .kind = FL_KIND_MEMFD, .action = FL_ACTION_KILLED };

                strcpy(e.name, names[i]);
                strcpy(e.path, "/proc/self/fd/3");
                assert_line_unambiguous(&e);
                /* in the other strings the message quotes */
                memset(e.name, 0, sizeof(e.name));
                snprintf(e.comm, sizeof(e.comm), "%s", names[i] + strlen("memfd:"));
                snprintf(e.program, sizeof(e.program), "%s", names[i]);
                snprintf(e.path, sizeof(e.path), "%s", names[i]);
                assert_line_unambiguous(&e);
                /* a mapping's message has no path */
                e.op = FL_OP_MMAP;
                assert_line_unambiguous(&e);
        }
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_fields_add);
        TEST(test_fields_line_exact);
        TEST(test_fields_line_size);
        TEST(test_fields_from_event);
        TEST(test_struct_formats);
        TEST(test_struct_warns_once);
        TEST(test_struct_bad_format);
        TEST(test_struct_truncated_format);
        TEST(test_send_event);
        TEST(test_line_message_unambiguous);
        return test_finish();
}
