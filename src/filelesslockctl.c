/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* filelesslockctl: query and change filelesslockd over its D-Bus API, follow
 * its events live (Event signals) or read them back from the journal. */

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#if __has_include("config.h")
#include "config.h"
#endif
#include "event-format.h"
#include "message-ids.h"
#include "names.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define PROGRAM "filelesslockctl"

#define BUS_NAME "org.bpflock.Fileless1"
#define BUS_PATH "/org/bpflock/Fileless1"
#define BUS_INTERFACE "org.bpflock.Fileless1"
#define SYSLOG_IDENTIFIER "filelesslock"
#define PKTTYAGENT "/usr/bin/pkttyagent"

/* Exit statuses, part of the command line interface: scripts test them. */
enum {
        EXIT_USAGE = 2,       /* bad command line, or a profile the daemon refused */
        EXIT_NOT_RUNNING = 3, /* nobody owns BUS_NAME */
        EXIT_ACCESS = 4,      /* AccessDenied, InteractiveAuthorizationRequired */
};

static bool arg_ask_password = true;
static bool arg_json = false;
static const char *arg_since = NULL;
static uint64_t arg_since_usec = 0;
static uint64_t arg_lines = UINT64_MAX; /* UINT64_MAX: all */
static const char *arg_directory = NULL;
static const char *arg_host = NULL;
static const char *arg_machine = NULL;

/* A tiny stand-in for log.c: a client's messages are for a human at a
 * terminal, so they carry the program name and no priority prefix. */
_printf_(2, 3) static int log_ctl(int error, const char *format, ...) {
        va_list ap;

        error = error < 0 ? -error : error;
        fputs(PROGRAM ": ", stderr);
        errno = error; /* for %m */
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
        return -error;
}
#define log_error(...) log_ctl(0, __VA_ARGS__)
#define log_warning(...) log_ctl(0, __VA_ARGS__)
#define log_error_errno(error, ...) log_ctl((error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_ctl((error), __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* ---- events and property sets as key → value lists ---- */

typedef enum ValueType {
        VALUE_NULL, /* a variant of a type org.bpflock.Fileless1 does not use */
        VALUE_STRING,
        VALUE_UNSIGNED,
        VALUE_BOOLEAN,
} ValueType;

typedef struct Field {
        char *key;
        ValueType type;
        union {
                char *str;
                uint64_t u;
                bool b;
        };
} Field;

typedef struct Record {
        Field *fields;
        size_t n;
} Record;

static void record_done(Record *rec) {
        for (size_t i = 0; i < rec->n; i++) {
                free(rec->fields[i].key);
                if (rec->fields[i].type == VALUE_STRING)
                        free(rec->fields[i].str);
        }
        free(rec->fields);
        *rec = (Record) {};
}

/* Takes KEY; on failure frees it. */
static Field *record_add(Record *rec, char *key, ValueType type) {
        Field *n;

        n = realloc(rec->fields, (rec->n + 1) * sizeof(Field));
        if (!n) {
                free(key);
                return NULL;
        }
        rec->fields = n;
        n = &rec->fields[rec->n++];
        *n = (Field) { .key = key, .type = type };
        return n;
}

static const Field *record_get(const Record *rec, const char *key, ValueType type) {
        for (size_t i = 0; i < rec->n; i++)
                if (streq(rec->fields[i].key, key))
                        return rec->fields[i].type == type ? &rec->fields[i] : NULL;
        return NULL;
}

static const char *record_string(const Record *rec, const char *key) {
        const Field *f = record_get(rec, key, VALUE_STRING);
        return f ? f->str : NULL;
}

static bool record_unsigned(const Record *rec, const char *key, uint64_t *ret) {
        const Field *f = record_get(rec, key, VALUE_UNSIGNED);
        if (!f)
                return false;
        *ret = f->u;
        return true;
}

/* Reads the variant the message is positioned on, whose signature is CONTENTS:
 * the types the interface uses (s, u, t, b); any other is skipped. */
static int read_variant_value(sd_bus_message *m, const char *contents, Field *f) {
        const char *s;
        uint32_t u32;
        int b, r;

        switch (strlen(contents) == 1 ? contents[0] : 0) {
        case 's':
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                f->str = strdup(s);
                if (!f->str)
                        return -ENOMEM;
                f->type = VALUE_STRING;
                return 0;
        case 'u':
                r = sd_bus_message_read_basic(m, 'u', &u32);
                f->u = u32;
                f->type = VALUE_UNSIGNED;
                return r < 0 ? r : 0;
        case 't':
                r = sd_bus_message_read_basic(m, 't', &f->u);
                f->type = VALUE_UNSIGNED;
                return r < 0 ? r : 0;
        case 'b':
                r = sd_bus_message_read_basic(m, 'b', &b);
                f->b = b;
                f->type = VALUE_BOOLEAN;
                return r < 0 ? r : 0;
        default:
                f->type = VALUE_NULL;
                return sd_bus_message_skip(m, contents);
        }
}

/* Parses the a{sv} the message is positioned on. */
static int record_from_message(sd_bus_message *m, Record *ret) {
        _cleanup_(record_done) Record rec = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char *k;
                Field *f;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                k = strdup(key);
                if (!k || !(f = record_add(&rec, k, VALUE_NULL)))
                        return -ENOMEM;
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = read_variant_value(m, contents, f);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = rec;
        rec = (Record) {};
        return 0;
}

/* ---- output ---- */

static void json_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                size_t len;

                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f) {
                                fprintf(f, "\\u%04x", *p);
                                break;
                        }
                        len = utf8_sequence_length(p, strlen((const char *) p));
                        if (len == 0) {
                                /* JSON is UTF-8: a stray byte becomes U+FFFD. */
                                fputs("\\ufffd", f);
                                break;
                        }
                        fwrite(p, 1, len, f);
                        p += len;
                        continue;
                }
                p++;
        }
        fputc('"', f);
}

static void print_json(const Record *rec) {
        fputc('{', stdout);
        for (size_t i = 0; i < rec->n; i++) {
                const Field *f = &rec->fields[i];

                if (i > 0)
                        fputc(',', stdout);
                json_string(stdout, f->key);
                fputc(':', stdout);
                switch (f->type) {
                case VALUE_STRING:
                        json_string(stdout, f->str);
                        break;
                case VALUE_UNSIGNED:
                        printf("%" PRIu64, f->u);
                        break;
                case VALUE_BOOLEAN:
                        fputs(f->b ? "true" : "false", stdout);
                        break;
                case VALUE_NULL:
                        fputs("null", stdout);
                        break;
                }
        }
        fputs("}\n", stdout);
}

/* For the human form: strings come from the exec'ing process (comm, memfd
 * names, paths), so no control character reaches the terminal. */
static void print_human_string(const char *s) {
        if (isempty(s)) {
                fputc('-', stdout);
                return;
        }
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        printf("\\x%02x", *p);
                else
                        fputc(*p, stdout);
}

static void print_human(const Record *rec) {
        uint64_t ts = 0, pid, uid;
        char buf[64] = "n/a";
        struct tm tm;
        time_t sec;

        if (record_unsigned(rec, "Timestamp", &ts) && ts > 0) {
                sec = (time_t) (ts / 1000000);
                if (!localtime_r(&sec, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
                        strcpy(buf, "n/a");
        }

        fputs(buf, stdout);
        fputc(' ', stdout);
        print_human_string(record_string(rec, "Action"));
        fputc(' ', stdout);
        print_human_string(record_string(rec, "Kind"));
        fputc(' ', stdout);
        print_human_string(record_string(rec, "FileName"));
        if (record_unsigned(rec, "Pid", &pid))
                printf(" pid %" PRIu64, pid);
        else
                fputs(" pid n/a", stdout);
        fputs(" (", stdout);
        print_human_string(record_string(rec, "Comm"));
        fputc(')', stdout);
        if (record_unsigned(rec, "Uid", &uid))
                printf(" uid %" PRIu64, uid);
        else
                fputs(" uid n/a", stdout);
        fputs(" via ", stdout);
        print_human_string(record_string(rec, "ExecPath"));
        fputc('\n', stdout);
}

static void print_event(const Record *rec) {
        if (arg_json)
                print_json(rec);
        else
                print_human(rec);
        /* One line at a time: a reader at the other end of a pipe wants each
         * event as it happens. */
        fflush(stdout);
}

/* ---- bus ---- */

static int bus_connect(sd_bus **ret) {
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(ret, arg_host);
        else if (arg_machine)
                r = sd_bus_open_system_machine(ret, arg_machine);
        else
                r = sd_bus_open_system(ret); /* honours DBUS_SYSTEM_BUS_ADDRESS */
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return 0;
}

static const char *bus_error_message(const sd_bus_error *e, int error) {
        if (e && e->message)
                return e->message;
        return strerror(error < 0 ? -error : error);
}

/* Logs a failed call and returns the exit status that says why. */
static int bus_call_failed(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_error("filelesslockd is not running: nothing owns " BUS_NAME " on the system bus.");
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                log_error("Failed to %s: %s", what, bus_error_message(e, r));
                log_error("Authentication is required: run it without --no-ask-password, or as root (sudo).");
                return EXIT_ACCESS;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
                log_error("Failed to %s: %s", what, bus_error_message(e, r));
                return EXIT_ACCESS;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS)) {
                log_error("Failed to %s: %s", what, bus_error_message(e, r));
                return EXIT_USAGE;
        }
        log_error("Failed to %s: %s", what, bus_error_message(e, r));
        return EXIT_FAILURE;
}

/* ---- polkit agent ---- */

static pid_t agent_pid = 0;

/* Starts pkttyagent so that polkit can ask for a password on our terminal,
 * and returns once it has registered (it closes the notify fd) or died. */
static int polkit_agent_open(void) {
        _cleanup_close_ int rfd = -1, wfd = -1;
        int fds[2];
        pid_t parent, pid;

        if (agent_pid > 0)
                return 0;
        /* polkit does not ask root; and without a terminal there is nobody to ask. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(PKTTYAGENT, X_OK) < 0)
                return 0;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create pipe: %m");
        rfd = fds[0];
        wfd = fds[1];

        parent = getpid();
        pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork polkit agent: %m");
        if (pid == 0) {
                char fdstr[16];
                int tty;

                /* The agent must not outlive us. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                /* It prompts on the terminal even if our output goes elsewhere. */
                if (!isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO)) {
                        tty = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                        if (tty >= 0 && tty != wfd) {
                                if (!isatty(STDOUT_FILENO) && wfd != STDOUT_FILENO)
                                        (void) dup2(tty, STDOUT_FILENO);
                                if (!isatty(STDERR_FILENO) && wfd != STDERR_FILENO)
                                        (void) dup2(tty, STDERR_FILENO);
                        }
                }
                /* Only the notify fd survives the exec. */
                if (fcntl(wfd, F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(fdstr, sizeof fdstr, "%i", wfd);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fdstr, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        agent_pid = pid;
        /* Ours closed, the agent's end alone keeps the pipe open. */
        close(TAKE_FD(wfd));

        for (;;) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };

                if (poll(&p, 1, -1) >= 0 || errno != EINTR)
                        break;
        }
        return 0;
}

static void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;

        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}

/* ---- verbs ----
 * Each returns an exit status, or a negative errno (already logged) for
 * EXIT_FAILURE. */

static int verb_status(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(record_done) Record rec = {};
        const Field *pinned;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BUS_INTERFACE);
        if (r < 0)
                return bus_call_failed(&error, r, "query filelesslockd");

        r = record_from_message(reply, &rec);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the properties of filelesslockd: %m");

        if (arg_json) {
                print_json(&rec);
                fflush(stdout);
                return 0;
        }

        static const struct {
                const char *label;
                const char *key;
        } rows[] = {
                { "Profile", "Profile" },
                { "Backend", "Backend" },
                { "Version", "Version" },
                { "Fileless executions", "FilelessExecutions" },
                { "Blocked", "Blocked" },
                { "Events lost", "EventsLost" },
                { "Events suppressed", "EventsSuppressed" },
        };
        const int width = (int) strlen("Fileless executions");

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const char *s = record_string(&rec, rows[i].key);
                uint64_t u;

                printf("%*s: ", width, rows[i].label);
                if (s)
                        print_human_string(s);
                else if (record_unsigned(&rec, rows[i].key, &u))
                        printf("%" PRIu64, u);
                else
                        fputs("n/a", stdout);
                fputc('\n', stdout);
        }

        printf("%*s: ", width, "Pinned");
        pinned = record_get(&rec, "Pinned", VALUE_BOOLEAN);
        path = record_string(&rec, "PinPath");
        if (!pinned)
                fputs("n/a", stdout);
        else if (pinned->b) {
                fputs("yes", stdout);
                if (!isempty(path)) {
                        fputs(" (", stdout);
                        print_human_string(path);
                        fputc(')', stdout);
                }
        } else
                fputs("no", stdout);
        fputc('\n', stdout);

        fflush(stdout);
        return 0;
}

static int verb_set_profile(sd_bus *bus, const char *profile) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (arg_ask_password) {
                r = sd_bus_set_allow_interactive_authorization(bus, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to allow interactive authorization: %m");
                /* The daemon waits up to 120 s for a password to be typed:
                 * wait for its answer a little longer than that. */
                r = sd_bus_set_method_call_timeout(bus, 130 * 1000000ULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the call timeout: %m");
                (void) polkit_agent_open();
        }

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "SetProfile", &error, NULL, "sb",
                               profile, (int) arg_ask_password);
        polkit_agent_close();
        if (r < 0)
                return bus_call_failed(&error, r, "set profile");
        return 0;
}

static int on_event(sd_bus_message *m, _unused_ void *userdata, _unused_ sd_bus_error *ret_error) {
        _cleanup_(record_done) Record rec = {};
        int r;

        r = record_from_message(m, &rec);
        if (r < 0) {
                log_warning_errno(r, "Failed to parse an Event signal, ignoring: %m");
                return 0;
        }
        print_event(&rec);
        return 0;
}

static int on_exit_signal(sd_event_source *s, _unused_ const struct signalfd_siginfo *si, _unused_ void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

static int verb_monitor(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sigset_t mask;
        int r, has_owner = 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        r = sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGINT/SIGTERM: %m");

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        /* Leave the loop with EXIT_FAILURE when the bus goes away. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect: %m");

        /* The sender is part of the match: on the system bus anybody may send
         * a signal with our path and interface, only the daemon may send it
         * from its name. The broker resolves the name at each delivery, so
         * this survives a restart of the daemon. */
        r = sd_bus_match_signal(bus, &slot, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Event", on_event, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to Event signals: %m");

        /* Not an error: the monitor may well be started before the daemon. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", BUS_NAME);
        if (r >= 0 && sd_bus_message_read(reply, "b", &has_owner) >= 0 && !has_owner)
                log_warning("filelesslockd is not running; waiting for it.");

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (r != EXIT_SUCCESS) {
                log_error("Lost the connection to the bus.");
                return EXIT_FAILURE;
        }
        return 0;
}

/* Journal field → D-Bus key of the Event signal, and how to read the value. */
typedef enum JournalType {
        J_STRING,
        J_UNSIGNED,
        J_BOOLEAN,
        J_DEVICE, /* "major:minor" → dev_t as stat() gives it */
} JournalType;

static const struct {
        const char *field;
        const char *key;
        JournalType type;
} journal_map[] = {
        { "FILELESS_TIMESTAMP", "Timestamp", J_UNSIGNED },
        { "FILELESS_ACTION", "Action", J_STRING },
        { "FILELESS_KIND", "Kind", J_STRING },
        { "FILELESS_PROFILE", "Profile", J_STRING },
        { "FILELESS_BACKEND", "Backend", J_STRING },
        { "FILELESS_SCRIPT", "Script", J_BOOLEAN },
        { "FILELESS_PID", "Pid", J_UNSIGNED },
        { "FILELESS_PPID", "PPid", J_UNSIGNED },
        { "FILELESS_UID", "Uid", J_UNSIGNED },
        { "FILELESS_GID", "Gid", J_UNSIGNED },
        { "FILELESS_COMM", "Comm", J_STRING },
        { "FILELESS_PARENT_COMM", "ParentComm", J_STRING },
        { "FILELESS_FILE_NAME", "FileName", J_STRING },
        { "FILELESS_EXEC_PATH", "ExecPath", J_STRING },
        { "FILELESS_INODE", "Inode", J_UNSIGNED },
        { "FILELESS_DEVICE", "Device", J_DEVICE },
        { "FILELESS_PID_NAMESPACE", "PidNamespace", J_UNSIGNED },
        { "FILELESS_PID_NAMESPACE_LEVEL", "PidNamespaceLevel", J_UNSIGNED },
        { "FILELESS_CGROUP_ID", "CgroupId", J_UNSIGNED },
};

static bool parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (isempty(s) || *s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno == 0 && *end == '\0';
}

static int record_from_journal(sd_journal *j, Record *ret) {
        _cleanup_(record_done) Record rec = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(journal_map); i++) {
                _cleanup_free_ char *value = NULL;
                size_t len, flen = strlen(journal_map[i].field);
                const void *data;
                unsigned maj, min;
                uint64_t u;
                char *key, c;
                Field *f;

                r = sd_journal_get_data(j, journal_map[i].field, &data, &len);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                if (len <= flen)
                        continue;
                /* Journal data is not NUL-terminated and could hold a NUL. */
                value = strndup((const char *) data + flen + 1, len - flen - 1);
                key = strdup(journal_map[i].key);
                if (!value || !key) {
                        free(key);
                        return -ENOMEM;
                }
                f = record_add(&rec, key, VALUE_STRING);
                if (!f)
                        return -ENOMEM;

                switch (journal_map[i].type) {
                case J_UNSIGNED:
                        if (parse_u64(value, &u)) {
                                f->type = VALUE_UNSIGNED;
                                f->u = u;
                                continue;
                        }
                        break;
                case J_BOOLEAN:
                        if (streq(value, "0") || streq(value, "1")) {
                                f->type = VALUE_BOOLEAN;
                                f->b = streq(value, "1");
                                continue;
                        }
                        break;
                case J_DEVICE:
                        if (sscanf(value, "%u:%u%c", &maj, &min, &c) == 2) {
                                f->type = VALUE_UNSIGNED;
                                f->u = (uint64_t) makedev(maj, min);
                                continue;
                        }
                        break;
                case J_STRING:
                        break;
                }
                /* A string, or a number we could not read: keep the text. */
                f->type = VALUE_STRING;
                f->str = TAKE_PTR(value);
        }

        /* Without the daemon's own timestamp, the journal's is close enough. */
        if (!record_get(&rec, "Timestamp", VALUE_UNSIGNED)) {
                uint64_t t;
                char *key;
                Field *f;

                if (sd_journal_get_realtime_usec(j, &t) >= 0) {
                        key = strdup("Timestamp");
                        if (!key || !(f = record_add(&rec, key, VALUE_UNSIGNED)))
                                return -ENOMEM;
                        f->u = t;
                }
        }

        *ret = rec;
        rec = (Record) {};
        return 0;
}

static int show_journal_entry(sd_journal *j) {
        _cleanup_(record_done) Record rec = {};
        uint64_t t;
        int r;

        if (arg_since && sd_journal_get_realtime_usec(j, &t) >= 0 && t < arg_since_usec)
                return 0;

        r = record_from_journal(j, &rec);
        if (r < 0) {
                log_warning_errno(r, "Failed to read a journal entry, skipping: %m");
                return 0;
        }
        print_event(&rec);
        return 0;
}

static int verb_events(void) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        int r;

        if (arg_directory)
                r = sd_journal_open_directory(&j, arg_directory, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return log_error_errno(r, "Failed to open the journal: %m");

        r = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=" SYSLOG_IDENTIFIER, 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to add journal match: %m");

        if (arg_lines == 0)
                return 0;

        if (arg_lines != UINT64_MAX) {
                /* The last N entries; show_journal_entry() drops those before --since. */
                r = sd_journal_seek_tail(j);
                if (r < 0)
                        return log_error_errno(r, "Failed to seek to the end of the journal: %m");
                r = sd_journal_previous_skip(j, arg_lines);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the journal: %m");
                if (r == 0)
                        return 0;
                for (;;) {
                        show_journal_entry(j);
                        r = sd_journal_next(j);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read the journal: %m");
                        if (r == 0)
                                return 0;
                }
        }

        if (arg_since)
                r = sd_journal_seek_realtime_usec(j, arg_since_usec);
        else
                r = sd_journal_seek_head(j);
        if (r < 0)
                return log_error_errno(r, "Failed to seek in the journal: %m");

        while ((r = sd_journal_next(j)) > 0)
                show_journal_entry(j);
        if (r < 0)
                return log_error_errno(r, "Failed to read the journal: %m");
        return 0;
}

/* ---- command line ---- */

/* "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD" (local time), or "-N" with an
 * optional unit s, sec, m, min, h or d (default s), meaning N ago. */
static int parse_since(const char *s, uint64_t *ret) {
        struct timespec now;

        if (s[0] == '-') {
                static const struct {
                        const char *suffix;
                        uint64_t usec;
                } units[] = {
                        { "", 1000000ULL },        { "s", 1000000ULL },        { "sec", 1000000ULL },
                        { "m", 60000000ULL },      { "min", 60000000ULL },     { "h", 3600000000ULL },
                        { "d", 86400000000ULL },
                };
                uint64_t n, now_usec;
                char *end;

                if (s[1] < '0' || s[1] > '9')
                        return -EINVAL;
                errno = 0;
                n = strtoull(s + 1, &end, 10);
                if (errno != 0)
                        return -EINVAL;
                if (clock_gettime(CLOCK_REALTIME, &now) < 0)
                        return -errno;
                now_usec = (uint64_t) now.tv_sec * 1000000ULL + (uint64_t) now.tv_nsec / 1000;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (streq(end, units[i].suffix)) {
                                if (n > UINT64_MAX / units[i].usec)
                                        return -ERANGE;
                                n *= units[i].usec;
                                *ret = n > now_usec ? 0 : now_usec - n;
                                return 0;
                        }
                return -EINVAL;
        }

        static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d" };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = {};
                const char *e;
                time_t t;

                e = strptime(s, formats[i], &tm);
                if (!e || *e)
                        continue;
                tm.tm_isdst = -1;
                t = mktime(&tm);
                if (t == (time_t) -1 || t < 0)
                        return -EINVAL;
                *ret = (uint64_t) t * 1000000ULL;
                return 0;
        }
        return -EINVAL;
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n"
               "\n"
               "Query or change the fileless execution lock (filelesslockd).\n"
               "\n"
               "Commands:\n"
               "  status                 Show profile, backend and counters (default)\n"
               "  set-profile PROFILE    Set the profile: " PROFILE_VALID_NAMES "\n"
               "  monitor                Print events as they happen, until SIGINT/SIGTERM\n"
               "  events                 Print past events from the journal\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show package version\n"
               "     --no-ask-password   Do not ask for a password (set-profile)\n"
               "     --json              One JSON object per line (status, monitor, events)\n"
               "     --since=TIME        events: since \"YYYY-MM-DD HH:MM:SS\" or \"-30s\",\n"
               "                         \"-5min\", \"-1h\", \"-2d\" (that long ago)\n"
               "  -n --lines=N           events: at most the N most recent\n"
               "  -D --directory=DIR     events: read the journal files in DIR\n"
               "  -H --host=[USER@]HOST  Operate on a remote host (over ssh)\n"
               "  -M --machine=NAME      Operate on a local container\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage error or invalid profile,\n"
               "3 filelesslockd not running, 4 access denied.\n",
               PROGRAM);
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), or
 * -EXIT_USAGE. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_ASK_PASSWORD,
                ARG_JSON,
                ARG_SINCE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "json", no_argument, NULL, ARG_JSON },
                { "since", required_argument, NULL, ARG_SINCE },
                { "lines", required_argument, NULL, 'n' },
                { "directory", required_argument, NULL, 'D' },
                { "host", required_argument, NULL, 'H' },
                { "machine", required_argument, NULL, 'M' },
                {},
        };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hn:D:H:M:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s %s\n", PROGRAM, PACKAGE_VERSION);
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_SINCE:
                        r = parse_since(optarg, &arg_since_usec);
                        if (r < 0) {
                                log_error("Invalid --since='%s': expected \"YYYY-MM-DD HH:MM:SS\", \"YYYY-MM-DD\" "
                                          "or a time ago such as \"-30s\", \"-5min\", \"-1h\", \"-2d\".",
                                          optarg);
                                return -EXIT_USAGE;
                        }
                        arg_since = optarg;
                        break;
                case 'n':
                        if (!parse_u64(optarg, &arg_lines) || arg_lines == UINT64_MAX) {
                                log_error("Invalid --lines='%s': expected a number.", optarg);
                                return -EXIT_USAGE;
                        }
                        break;
                case 'D':
                        arg_directory = optarg;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case 'M':
                        arg_machine = optarg;
                        break;
                case ':':
                        log_error("Option '%s' needs an argument.", argv[optind - 1]);
                        return -EXIT_USAGE;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                log_error("Unknown or incomplete option '-%c'. See --help.", optopt);
                        else
                                log_error("Unknown or incomplete option '%s'. See --help.", argv[optind - 1]);
                        return -EXIT_USAGE;
                default:
                        log_error("Unhandled option.");
                        return -EXIT_USAGE;
                }

        if (arg_host && arg_machine) {
                log_error("--host= and --machine= cannot be combined.");
                return -EXIT_USAGE;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *verb;
        int r, nargs;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? -r : EXIT_SUCCESS;

        verb = optind < argc ? argv[optind] : "status";
        nargs = optind < argc ? argc - optind - 1 : 0;

        static const struct {
                const char *name;
                int nargs;
                bool json;
                bool journal;
        } verbs[] = {
                { "status", 0, true, false },
                { "set-profile", 1, false, false },
                { "monitor", 0, true, false },
                { "events", 0, true, true },
        };
        size_t v;

        for (v = 0; v < ELEMENTSOF(verbs); v++)
                if (streq(verbs[v].name, verb))
                        break;
        if (v >= ELEMENTSOF(verbs)) {
                log_error("Unknown command '%s'. See --help.", verb);
                return EXIT_USAGE;
        }
        if (nargs != verbs[v].nargs) {
                log_error("Command '%s' takes %s argument%s, got %i.", verb,
                          verbs[v].nargs == 0 ? "no" : "exactly one", verbs[v].nargs == 0 ? "s" : "", nargs);
                return EXIT_USAGE;
        }
        if (arg_json && !verbs[v].json) {
                log_error("--json is not supported by '%s'.", verb);
                return EXIT_USAGE;
        }
        if ((arg_since || arg_lines != UINT64_MAX || arg_directory) && !verbs[v].journal) {
                log_error("--since=, --lines= and --directory= only apply to 'events'.");
                return EXIT_USAGE;
        }
        if (verbs[v].journal) {
                if (arg_host || arg_machine) {
                        log_error("'events' reads the local journal: --host= and --machine= do not apply.");
                        return EXIT_USAGE;
                }
                r = verb_events();
                return r < 0 ? EXIT_FAILURE : r;
        }

        r = bus_connect(&bus);
        if (r < 0)
                return EXIT_FAILURE;

        if (streq(verb, "status"))
                r = verb_status(bus);
        else if (streq(verb, "set-profile"))
                r = verb_set_profile(bus, argv[optind + 1]);
        else
                r = verb_monitor(bus);

        return r < 0 ? EXIT_FAILURE : r;
}
