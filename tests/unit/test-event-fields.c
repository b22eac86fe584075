/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdint.h>

#include "event-format.h"
#include "message-ids.h"
#include "tests.h"
#include "unescape.h"

#define N_FIELDS 22

static const char *const field_names[N_FIELDS] = {
        "MESSAGE_ID",
        "PRIORITY",
        "OBJECT_PID",
        "FILELESS_ACTION",
        "FILELESS_KIND",
        "FILELESS_PROFILE",
        "FILELESS_BACKEND",
        "FILELESS_SCRIPT",
        "FILELESS_PID",
        "FILELESS_PPID",
        "FILELESS_UID",
        "FILELESS_GID",
        "FILELESS_COMM",
        "FILELESS_PARENT_COMM",
        "FILELESS_FILE_NAME",
        "FILELESS_EXEC_PATH",
        "FILELESS_INODE",
        "FILELESS_DEVICE",
        "FILELESS_PID_NAMESPACE",
        "FILELESS_PID_NAMESPACE_LEVEL",
        "FILELESS_CGROUP_ID",
        "FILELESS_TIMESTAMP",
};

/* ---- helpers ---- */

/* Independent UTF-8 validator after the Unicode standard's table of
 * well-formed byte sequences (Table 3-7). */
static bool utf8_valid(const char *str) {
        const unsigned char *s = (const unsigned char *) str;

        while (*s) {
                unsigned char lo = 0x80, hi = 0xbf;
                size_t k;

                if (s[0] <= 0x7f) {
                        s++;
                        continue;
                }
                if (s[0] >= 0xc2 && s[0] <= 0xdf)
                        k = 1;
                else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                        k = 2;
                        if (s[0] == 0xe0)
                                lo = 0xa0;
                        else if (s[0] == 0xed)
                                hi = 0x9f;
                } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                        k = 3;
                        if (s[0] == 0xf0)
                                lo = 0x90;
                        else if (s[0] == 0xf4)
                                hi = 0x8f;
                } else
                        return false;
                if (s[1] < lo || s[1] > hi)
                        return false;
                for (size_t i = 2; i <= k; i++)
                        if (s[i] < 0x80 || s[i] > 0xbf)
                                return false;
                s += k + 1;
        }
        return true;
}

static void assert_no_control(const char *what, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        TEST_FAIL("%s: raw byte 0x%02x at offset %zu", what, *p,
                                  (size_t) (p - (const unsigned char *) s));
}


#define ASSERT_ESCAPE(in, maxlen, expected)                             \
        do {                                                            \
                char *_r_ = escape_string((in), (maxlen));              \
                ASSERT_NOT_NULL(_r_);                                   \
                ASSERT_STREQ(_r_, (expected));                          \
                assert_no_control("escape_string", _r_);                \
                ASSERT_TRUE(utf8_valid(_r_));                           \
                free(_r_);                                              \
        } while (0)

#define ESC(in, expected) ASSERT_ESCAPE((in), SIZE_MAX, (expected))

/* Returns the value of field NAME, failing unless it occurs exactly once. */
static const char *field(const EventFields *f, const char *name) {
        size_t len = strlen(name), count = 0;
        const char *v = NULL;

        for (size_t i = 0; i < f->n; i++)
                if (strncmp(f->fields[i], name, len) == 0 && f->fields[i][len] == '=') {
                        count++;
                        v = f->fields[i] + len + 1;
                }
        if (count != 1)
                TEST_FAIL("field %s occurs %zu times", name, count);
        return v;
}

/* Every field is one of the expected names, each exactly once, every value
 * and the message printable and one line. */
static void assert_well_formed(const EventFields *f) {
        ASSERT_INT_EQ(f->n, N_FIELDS);
        for (size_t i = 0; i < N_FIELDS; i++)
                (void) field(f, field_names[i]);
        for (size_t i = 0; i < f->n; i++) {
                ASSERT_NOT_NULL(f->fields[i]);
                assert_no_control(f->fields[i], f->fields[i]);
                ASSERT_TRUE(utf8_valid(f->fields[i]));
        }
        ASSERT_NOT_NULL(f->message);
        assert_no_control("message", f->message);
        ASSERT_TRUE(utf8_valid(f->message));
        ASSERT_TRUE(f->priority == 4 || f->priority == 5);
}

/* Parses event_format_line() output back: the message, then for each field
 * ' NAME="value"' with the value free of unescaped quotes. */
static void assert_line(const EventFields *f) {
        char *line = NULL;
        const char *p;

        ASSERT_INT_EQ(event_format_line(f, &line), 0);
        ASSERT_NOT_NULL(line);
        ASSERT_NULL(strchr(line, '\n'));
        assert_no_control("line", line);
        ASSERT_STARTSWITH(line, f->message);

        p = line + strlen(f->message);
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->fields[i], '='), *start;
                size_t namelen = (size_t) (eq - f->fields[i]);

                if (*p != ' ')
                        TEST_FAIL("field %zu: expected ' ' at \"%s\"", i, p);
                p++;
                if (strncmp(p, f->fields[i], namelen + 1) != 0)
                        TEST_FAIL("field %zu: expected name %.*s at \"%s\"", i, (int) namelen, f->fields[i], p);
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

static struct fl_event sample_event(void) {
        struct fl_event e = {
                .boot_ns = 123456789,
                .inode = 4242424242ULL,
                .dev = ((uint64_t) 259 << 20) | 65537,
                .cgroup_id = 987654321012ULL,
                .pidns = 4026531836U,
                .pidns_level = 2,
                .pid = 1234,
                .ppid = 1000,
                .uid = 1001,
                .gid = 100,
                .flags = 0,
                .kind = FL_KIND_MEMFD,
                .action = FL_ACTION_KILLED,
                .profile = FL_PROFILE_RESTRICTED,
                .backend = FL_BACKEND_TRACEPOINT,
        };

        strcpy(e.comm, "bash");
        strcpy(e.parent_comm, "sshd");
        strcpy(e.name, "memfd:x");
        strcpy(e.path, "/proc/self/fd/3");
        return e;
}

/* ---- escape_string ---- */

static void test_escape_plain(void) {
        ESC("", "");
        ESC("hello", "hello");
        ESC("memfd:x (deleted) /dev/shm/a-b_c.d ~!@#$%^&*()[]{}<>?,;'`|=+", "memfd:x (deleted) /dev/shm/a-b_c.d ~!@#$%^&*()[]{}<>?,;'`|=+");
}

static void test_escape_specials(void) {
        ESC("a\nb", "a\\nb");
        ESC("a\tb", "a\\tb");
        ESC("a\\b", "a\\\\b");
        ESC("a\"b", "a\\\"b");
        ESC("\n\t\\\"", "\\n\\t\\\\\\\"");
        ESC("\x01", "\\x01");
        ESC("\x1b[31m", "\\x1b[31m");
        ESC("\r", "\\x0d");
        ESC("\x1f", "\\x1f");
        ESC("\x7f", "\\x7f");
        ESC(" ~", " ~");
        /* a literal escape in the input stays distinguishable */
        ESC("\\x41", "\\\\x41");
}

static void test_escape_all_bytes(void) {
        for (unsigned b = 1; b < 256; b++) {
                char in[2] = { (char) b, 0 }, expected[8];

                if (b == '\n')
                        strcpy(expected, "\\n");
                else if (b == '\t')
                        strcpy(expected, "\\t");
                else if (b == '\\' || b == '"')
                        snprintf(expected, sizeof(expected), "\\%c", b);
                else if (b < 0x20 || b >= 0x7f)
                        snprintf(expected, sizeof(expected), "\\x%02x", b);
                else
                        snprintf(expected, sizeof(expected), "%c", b);
                ESC(in, expected);
        }
}

static void test_escape_valid_utf8(void) {
        ESC("\xc2\xa0", "\xc2\xa0");                 /* U+00A0, first after the C1 controls */
        ESC("caf\xc3\xa9", "caf\xc3\xa9");           /* é */
        ESC("\xdf\xbf", "\xdf\xbf");                 /* U+07FF */
        ESC("\xe0\xa0\x80", "\xe0\xa0\x80");         /* U+0800, shortest 3-byte */
        ESC("\xe2\x82\xac", "\xe2\x82\xac");         /* € */
        ESC("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
        ESC("\xee\x80\x80", "\xee\x80\x80");         /* U+E000, just above */
        ESC("\xef\xbf\xbd", "\xef\xbf\xbd");         /* U+FFFD */
        ESC("\xef\xb7\x8f", "\xef\xb7\x8f");         /* U+FDCF, just below the noncharacters */
        ESC("\xef\xb7\xb0", "\xef\xb7\xb0");         /* U+FDF0, just above */
        ESC("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000, shortest 4-byte */
        ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* 😀 */
        ESC("\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd"); /* U+10FFFD, the last one not a noncharacter */
        ESC("a\xc3\xa9\n\xe2\x82\xac\"", "a\xc3\xa9\\n\xe2\x82\xac\\\"");
}

static void test_escape_invalid_utf8(void) {
        ESC("\x80", "\\x80");                               /* lone continuation */
        ESC("a\xbf" "b", "a\\xbfb");
        ESC("\xc0\x80", "\\xc0\\x80");                      /* overlong NUL */
        ESC("\xc1\xbf", "\\xc1\\xbf");                      /* overlong 2-byte */
        ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");             /* overlong 3-byte '/' */
        ESC("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");             /* overlong U+07FF */
        ESC("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");    /* overlong 4-byte */
        ESC("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");    /* overlong U+FFFF */
        ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");             /* U+D800 surrogate */
        ESC("\xed\xbf\xbf", "\\xed\\xbf\\xbf");             /* U+DFFF */
        ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");    /* U+110000 */
        ESC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
        ESC("\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf");
        ESC("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
        ESC("\xfe\xff", "\\xfe\\xff");
        /* truncated at the end of the string */
        ESC("\xc3", "\\xc3");
        ESC("a\xe2\x82", "a\\xe2\\x82");
        ESC("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
        /* truncated by a following non-continuation byte */
        ESC("\xe2\x82" "A", "\\xe2\\x82A");
        ESC("\xc3\n", "\\xc3\\n");
        ESC("\xe2\xe2\x82\xac", "\\xe2\xe2\x82\xac");
}

/* Valid UTF-8 that must not pass as is: C1 controls drive terminals (CSI is
 * U+009B), and sd-bus refuses noncharacters in strings (one would cost the
 * whole Event signal). Found by fuzz-escape and fuzz-dbus-event. */
static void test_escape_c1_and_noncharacters(void) {
        ESC("\xc2\x80", "\\xc2\\x80");                   /* U+0080 */
        ESC("x\xc2\x9b" "2J", "x\\xc2\\x9b2J");          /* CSI 2J: clear screen */
        ESC("\xc2\x9f", "\\xc2\\x9f");                   /* U+009F */
        ESC("\xef\xb7\x90", "\\xef\\xb7\\x90");          /* U+FDD0 */
        ESC("\xef\xb7\xaf", "\\xef\\xb7\\xaf");          /* U+FDEF */
        ESC("\xef\xbf\xbe", "\\xef\\xbf\\xbe");          /* U+FFFE */
        ESC("\xef\xbf\xbf", "\\xef\\xbf\\xbf");          /* U+FFFF */
        ESC("\xf0\x9f\xbf\xbe", "\\xf0\\x9f\\xbf\\xbe");  /* U+1FFFE */
        ESC("\xf4\x8f\xbf\xbe", "\\xf4\\x8f\\xbf\\xbe");  /* U+10FFFE */
        ESC("\xf4\x8f\xbf\xbf", "\\xf4\\x8f\\xbf\\xbf");  /* U+10FFFF */
        ASSERT_INT_EQ(utf8_sequence_length((const unsigned char *) "\xef\xbf\xbe", 3), 0);
        ASSERT_INT_EQ(utf8_sequence_length((const unsigned char *) "\xc2\x9b", 2), 2);
}

static void test_escape_maxlen(void) {
        ASSERT_ESCAPE("abcdef", 3, "abc");
        ASSERT_ESCAPE("abcdef", 0, "");
        ASSERT_ESCAPE("ab\0cd", 10, "ab");
        ASSERT_ESCAPE("\n\n\n", 2, "\\n\\n");
        /* a sequence cut by maxlen is no longer valid */
        ASSERT_ESCAPE("\xe2\x82\xac", 2, "\\xe2\\x82");
        ASSERT_ESCAPE("\xe2\x82\xac", 3, "\xe2\x82\xac");

        /* no NUL within maxlen: exactly maxlen bytes are read (ASan checks) */
        char *buf = malloc(4);
        ASSERT_NOT_NULL(buf);
        memcpy(buf, "ab\x01\xc3", 4);
        ASSERT_ESCAPE(buf, 4, "ab\\x01\\xc3");
        free(buf);
}

static void test_escape_random_round_trip(void) {
        uint32_t x = 0x12345678;

        for (unsigned iter = 0; iter < 20000; iter++) {
                char in[64], back[64];
                size_t len = iter % sizeof(in);
                char *r;
                ssize_t n;

                for (size_t i = 0; i < len; i++) {
                        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                        /* bias towards interesting bytes */
                        in[i] = (char) ((x >> 8) & 1 ? 0x80 | (x & 0x7f) : (x & 0xff));
                        if (in[i] == 0)
                                in[i] = 0x01;
                }

                r = escape_string(in, len);
                ASSERT_NOT_NULL(r);
                assert_no_control("random", r);
                ASSERT_TRUE(utf8_valid(r));
                ASSERT_TRUE(strlen(r) <= len * 4);
                n = unescape_string(r, back);
                ASSERT_INT_EQ(n, (ssize_t) len);
                ASSERT_TRUE(memcmp(in, back, len) == 0);
                free(r);
        }
}

/* ---- event_format ---- */

static void test_format_killed_memfd(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .realtime_usec = 1700000000123456ULL, .shm_dir = "/dev/shm" };
        EventFields f = {};

        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        assert_well_formed(&f);

        ASSERT_STREQ(field(&f, "MESSAGE_ID"), FL_MESSAGE_FILELESS_EXEC);
        ASSERT_STREQ(field(&f, "MESSAGE_ID"), "44f1fd78380e403f9427638d2ffb0464");
        ASSERT_STREQ(field(&f, "PRIORITY"), "4");
        ASSERT_INT_EQ(f.priority, 4);
        ASSERT_STREQ(field(&f, "OBJECT_PID"), "1234");
        ASSERT_STREQ(field(&f, "FILELESS_ACTION"), "killed");
        ASSERT_STREQ(field(&f, "FILELESS_KIND"), "memfd");
        ASSERT_STREQ(field(&f, "FILELESS_PROFILE"), "restricted");
        ASSERT_STREQ(field(&f, "FILELESS_BACKEND"), "tracepoint");
        ASSERT_STREQ(field(&f, "FILELESS_SCRIPT"), "0");
        ASSERT_STREQ(field(&f, "FILELESS_PID"), "1234");
        ASSERT_STREQ(field(&f, "FILELESS_PPID"), "1000");
        ASSERT_STREQ(field(&f, "FILELESS_UID"), "1001");
        ASSERT_STREQ(field(&f, "FILELESS_GID"), "100");
        ASSERT_STREQ(field(&f, "FILELESS_COMM"), "bash");
        ASSERT_STREQ(field(&f, "FILELESS_PARENT_COMM"), "sshd");
        /* not shm: no directory prefix even though ctx has one */
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "memfd:x");
        ASSERT_STREQ(field(&f, "FILELESS_EXEC_PATH"), "/proc/self/fd/3");
        ASSERT_STREQ(field(&f, "FILELESS_INODE"), "4242424242");
        ASSERT_STREQ(field(&f, "FILELESS_DEVICE"), "259:65537");
        ASSERT_STREQ(field(&f, "FILELESS_PID_NAMESPACE"), "4026531836");
        ASSERT_STREQ(field(&f, "FILELESS_PID_NAMESPACE_LEVEL"), "2");
        ASSERT_STREQ(field(&f, "FILELESS_CGROUP_ID"), "987654321012");
        ASSERT_STREQ(field(&f, "FILELESS_TIMESTAMP"), "1700000000123456");

        ASSERT_STARTSWITH(f.message, "Killed fileless execution of memfd:x");
        ASSERT_STREQ(f.message, "Killed fileless execution of memfd:x (memfd) by pid 1234 (bash), uid 1001, "
                                "via /proc/self/fd/3; profile restricted, backend tracepoint");
        ASSERT_NOT_CONTAINS(f.message, "#!");

        assert_line(&f);
        event_fields_done(&f);
        ASSERT_INT_EQ(f.n, 0);
        ASSERT_NULL(f.message);
}

static void test_format_priority(void) {
        static const struct {
                int action;
                int priority;
                const char *name, *verb;
        } cases[] = {
                { FL_ACTION_ALLOWED, 5, "allowed", "Allowed " },
                { FL_ACTION_DENIED, 4, "denied", "Denied " },
                { FL_ACTION_KILLED, 4, "killed", "Killed " },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                EventFields f = {};
                char prio[8];

                e.action = (uint8_t) cases[i].action;
                e.backend = cases[i].action == FL_ACTION_DENIED ? FL_BACKEND_LSM : FL_BACKEND_TRACEPOINT;
                ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
                assert_well_formed(&f);
                ASSERT_INT_EQ(f.priority, cases[i].priority);
                snprintf(prio, sizeof(prio), "%d", cases[i].priority);
                ASSERT_STREQ(field(&f, "PRIORITY"), prio);
                ASSERT_STREQ(field(&f, "FILELESS_ACTION"), cases[i].name);
                ASSERT_STARTSWITH(f.message, cases[i].verb);
                ASSERT_STREQ(field(&f, "FILELESS_BACKEND"),
                             cases[i].action == FL_ACTION_DENIED ? "lsm" : "tracepoint");
                /* no context: timestamp 0 */
                ASSERT_STREQ(field(&f, "FILELESS_TIMESTAMP"), "0");
                assert_line(&f);
                event_fields_done(&f);
        }
}

static void test_format_script(void) {
        struct fl_event e = sample_event();
        EventFields f = {};

        e.flags = FL_EVENT_SCRIPT | FL_EVENT_VIA_FDPATH;
        e.action = FL_ACTION_ALLOWED;
        e.profile = FL_PROFILE_ALLOW;
        ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_SCRIPT"), "1");
        ASSERT_STREQ(field(&f, "FILELESS_PROFILE"), "allow");
        ASSERT_CONTAINS(f.message, "#! script");
        ASSERT_STARTSWITH(f.message, "Allowed fileless execution of #! script memfd:x");
        ASSERT_INT_EQ(f.priority, 5);
        event_fields_done(&f);

        /* FL_EVENT_VIA_FDPATH alone is no script */
        e.flags = FL_EVENT_VIA_FDPATH;
        ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
        ASSERT_STREQ(field(&f, "FILELESS_SCRIPT"), "0");
        ASSERT_NOT_CONTAINS(f.message, "#! script");
        event_fields_done(&f);
}

static void test_format_shm(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .realtime_usec = 1, .shm_dir = "/dev/shm" };
        EventFields f = {};

        e.kind = FL_KIND_SHM;
        e.dev = ((uint64_t) 0 << 20) | 25;
        strcpy(e.name, "payload");
        strcpy(e.path, "/dev/shm/payload");
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_KIND"), "shm");
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "/dev/shm/payload");
        ASSERT_STREQ(field(&f, "FILELESS_DEVICE"), "0:25");
        ASSERT_STARTSWITH(f.message, "Killed fileless execution of /dev/shm/payload (shm)");
        event_fields_done(&f);

        /* another mount point */
        ctx.shm_dir = "/run/shm";
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "/run/shm/payload");
        event_fields_done(&f);

        /* without a known mount point the bare name remains */
        ctx.shm_dir = NULL;
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "payload");
        event_fields_done(&f);
        ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "payload");
        event_fields_done(&f);
}

static void test_format_by_path(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .shm_dir = "/dev/shm" };
        EventFields f = {};

        /* known only by its exec path: that names the file, even for shm */
        e.kind = FL_KIND_SHM;
        e.flags = FL_EVENT_SCRIPT | FL_EVENT_BY_PATH;
        e.inode = 0;
        e.dev = 0;
        memset(e.name, 0, sizeof(e.name));
        strcpy(e.path, "/dev/shm/run\n.sh");
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "/dev/shm/run\\n.sh");
        ASSERT_STREQ(field(&f, "FILELESS_EXEC_PATH"), "/dev/shm/run\\n.sh");
        ASSERT_STREQ(field(&f, "FILELESS_SCRIPT"), "1");
        ASSERT_STARTSWITH(f.message, "Killed fileless execution of #! script /dev/shm/run\\n.sh (shm)");
        assert_line(&f);
        event_fields_done(&f);

        /* without the flag the dentry name plus shm_dir is used */
        e.flags = FL_EVENT_SCRIPT;
        strcpy(e.name, "run");
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "/dev/shm/run");
        event_fields_done(&f);
}

static void test_format_other_kinds(void) {
        static const struct {
                int kind;
                const char *name;
        } cases[] = {
                { FL_KIND_ORDINARY, "ordinary" },
                { FL_KIND_TMPFILE, "tmpfile" },
                { FL_KIND_DELETED, "deleted" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct fl_event e = sample_event();
                EventContext ctx = { .shm_dir = "/dev/shm" };
                EventFields f = {};

                e.kind = (uint8_t) cases[i].kind;
                strcpy(e.name, "#1234");
                ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
                assert_well_formed(&f);
                ASSERT_STREQ(field(&f, "FILELESS_KIND"), cases[i].name);
                ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "#1234");
                event_fields_done(&f);
        }
}

static void test_format_empty_strings(void) {
        struct fl_event e = sample_event();
        EventFields f = {};

        memset(e.comm, 0, sizeof(e.comm));
        memset(e.parent_comm, 0, sizeof(e.parent_comm));
        memset(e.name, 0, sizeof(e.name));
        memset(e.path, 0, sizeof(e.path));
        e.dev = 0;
        ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_COMM"), "");
        ASSERT_STREQ(field(&f, "FILELESS_EXEC_PATH"), "");
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "");
        ASSERT_STREQ(field(&f, "FILELESS_DEVICE"), "0:0");
        ASSERT_CONTAINS(f.message, "via -;");
        assert_line(&f);
        event_fields_done(&f);
}

static void test_format_device_encoding(void) {
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
                EventFields f = {};

                e.dev = ((uint64_t) cases[i].major << 20) | cases[i].minor;
                ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
                ASSERT_STREQ(field(&f, "FILELESS_DEVICE"), cases[i].expected);
                event_fields_done(&f);
        }
}

static void test_format_hostile(void) {
        /* on the heap so that ASan sees a read past the end of path[] */
        struct fl_event *e = malloc(sizeof(*e));
        EventContext ctx = { .realtime_usec = 42, .shm_dir = "/dev/shm" };
        EventFields f = {};
        char expected[FL_PATH_LEN + 1];

        ASSERT_NOT_NULL(e);
        *e = sample_event();
        e->kind = FL_KIND_SHM;
        /* comm fills its array without a terminator; parent_comm follows it */
        memset(e->comm, 'A', sizeof(e->comm));
        strcpy(e->parent_comm, "PARENT\n\x1b[2J");
        strcpy(e->name, "x\nMESSAGE_ID=forged\nPRIORITY=0\n=y=\"z\"");
        /* path fills its array, the last member of the struct */
        memset(e->path, 'p', sizeof(e->path));

        ASSERT_INT_EQ(event_format(e, &ctx, &f), 0);
        assert_well_formed(&f);

        ASSERT_STREQ(field(&f, "FILELESS_COMM"), "AAAAAAAAAAAAAAAA");
        ASSERT_STREQ(field(&f, "FILELESS_PARENT_COMM"), "PARENT\\n\\x1b[2J");
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "/dev/shm/x\\nMESSAGE_ID=forged\\nPRIORITY=0\\n=y=\\\"z\\\"");
        memset(expected, 'p', FL_PATH_LEN);
        expected[FL_PATH_LEN] = 0;
        ASSERT_STREQ(field(&f, "FILELESS_EXEC_PATH"), expected);

        /* the real values survive, the forged ones only appear escaped */
        ASSERT_STREQ(field(&f, "MESSAGE_ID"), FL_MESSAGE_FILELESS_EXEC);
        ASSERT_STREQ(field(&f, "PRIORITY"), "4");
        for (size_t i = 0; i < f.n; i++) {
                ASSERT_NULL(strchr(f.fields[i], '\n'));
                ASSERT_NOT_CONTAINS(f.fields[i], "\nMESSAGE_ID");
                if (strstr(f.fields[i], "MESSAGE_ID=forged"))
                        ASSERT_STARTSWITH(f.fields[i], "FILELESS_FILE_NAME=");
        }
        ASSERT_NULL(strchr(f.message, '\n'));
        ASSERT_CONTAINS(f.message, "x\\nMESSAGE_ID=forged\\nPRIORITY=0\\n");
        ASSERT_CONTAINS(f.message, "(AAAAAAAAAAAAAAAA)");
        ASSERT_NOT_CONTAINS(f.message, "PARENT");
        assert_line(&f);
        event_fields_done(&f);

        /* name filling its whole array, no terminator */
        *e = sample_event();
        memset(e->name, 'n', sizeof(e->name));
        memset(e->path, 'p', sizeof(e->path));
        ASSERT_INT_EQ(event_format(e, NULL, &f), 0);
        ASSERT_INT_EQ(strlen(field(&f, "FILELESS_FILE_NAME")), FL_NAME_LEN);
        ASSERT_INT_EQ(strlen(field(&f, "FILELESS_EXEC_PATH")), FL_PATH_LEN);
        event_fields_done(&f);

        /* every byte value in every string */
        *e = sample_event();
        for (size_t i = 0; i < sizeof(e->name); i++) {
                e->name[i] = (char) (i + 1);
                e->path[i] = (char) (255 - i);
        }
        for (size_t i = 0; i < sizeof(e->comm); i++) {
                e->comm[i] = (char) (0x80 + i);
                e->parent_comm[i] = (char) (i + 1);
        }
        ASSERT_INT_EQ(event_format(e, &ctx, &f), 0);
        assert_well_formed(&f);
        assert_line(&f);
        event_fields_done(&f);

        free(e);
}

static void test_format_unknown_values(void) {
        struct fl_event e = sample_event();
        EventContext ctx = { .shm_dir = "/dev/shm" };
        EventFields f = {};

        e.kind = 200;
        e.action = 200;
        e.profile = 200;
        e.backend = 200;
        ASSERT_INT_EQ(event_format(&e, &ctx, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_KIND"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_ACTION"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_PROFILE"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_BACKEND"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_FILE_NAME"), "memfd:x");
        ASSERT_CONTAINS(f.message, "(unknown)");
        ASSERT_CONTAINS(f.message, "profile unknown, backend unknown");
        /* not "allowed", so not the lower priority */
        ASSERT_INT_EQ(f.priority, 4);
        assert_line(&f);
        event_fields_done(&f);

        /* 0 is not a profile or backend either */
        e = sample_event();
        e.profile = 0;
        e.backend = 0;
        e.kind = _FL_KIND_MAX;
        e.action = _FL_ACTION_MAX;
        ASSERT_INT_EQ(event_format(&e, NULL, &f), 0);
        assert_well_formed(&f);
        ASSERT_STREQ(field(&f, "FILELESS_PROFILE"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_BACKEND"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_KIND"), "unknown");
        ASSERT_STREQ(field(&f, "FILELESS_ACTION"), "unknown");
        event_fields_done(&f);
}

static void test_format_line_exact(void) {
        char *f0 = strdup("A=1"), *f1 = strdup("B=x=\\\"y\\\""), *f2 = strdup("C="), *msg = strdup("hello world");
        EventFields f = { .n = 3, .fields = { f0, f1, f2 }, .message = msg, .priority = 5 };
        char *line = NULL;

        ASSERT_INT_EQ(event_format_line(&f, &line), 0);
        ASSERT_STREQ(line, "hello world A=\"1\" B=\"x=\\\"y\\\"\" C=\"\"");
        free(line);
        assert_line(&f);

        /* no fields at all */
        f.n = 0;
        ASSERT_INT_EQ(event_format_line(&f, &line), 0);
        ASSERT_STREQ(line, "hello world");
        free(line);

        f.n = 3;
        event_fields_done(&f);
}

int main(void) {
        TEST(test_escape_plain);
        TEST(test_escape_specials);
        TEST(test_escape_all_bytes);
        TEST(test_escape_valid_utf8);
        TEST(test_escape_invalid_utf8);
        TEST(test_escape_c1_and_noncharacters);
        TEST(test_escape_maxlen);
        TEST(test_escape_random_round_trip);
        TEST(test_format_killed_memfd);
        TEST(test_format_priority);
        TEST(test_format_script);
        TEST(test_format_shm);
        TEST(test_format_by_path);
        TEST(test_format_other_kinds);
        TEST(test_format_empty_strings);
        TEST(test_format_device_encoding);
        TEST(test_format_hostile);
        TEST(test_format_unknown_values);
        TEST(test_format_line_exact);
        return 0;
}
