/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <wchar.h>
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "journal.h"
#include "log.h"
#include "message-ids.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int journal_fields_push(JournalFields *f, char *s) {
        char **v;

        if (!s)
                return -ENOMEM;
        v = realloc(f->v, (f->n + 1) * sizeof(char *));
        if (!v) {
                free(s);
                return -ENOMEM;
        }
        f->v = v;
        f->v[f->n++] = s;
        return 0;
}

static int journal_fields_addv(JournalFields *f, const char *format, va_list ap) {
        char *s;

        if (vasprintf(&s, format, ap) < 0)
                return errno == EINVAL ? -EINVAL : -ENOMEM;
        return journal_fields_push(f, s);
}

int journal_fields_add(JournalFields *f, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = journal_fields_addv(f, format, ap);
        va_end(ap);
        return r;
}

void journal_fields_done(JournalFields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->v[i]);
        free(f->v);
        *f = (JournalFields) {};
}

int journal_fields_from_event(const EventRecord *r, JournalFields *ret) {
        _cleanup_(journal_fields_done) JournalFields f = {};
        uint64_t pid = 0;
        int k;

        (void) event_record_number(r, EVENT_PID, &pid);
        if ((k = journal_fields_add(&f, "MESSAGE=%s", r->message)) < 0 ||
            (k = journal_fields_add(&f, "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC)) < 0 ||
            (k = journal_fields_add(&f, "PRIORITY=%i", r->priority)) < 0 ||
            (k = journal_fields_add(&f, "OBJECT_PID=%" PRIu64, pid)) < 0)
                return k;

        for (EventField i = 0; i < _EVENT_FIELD_MAX; i++) {
                _cleanup_free_ char *value = NULL;

                if (!r->values[i].set)
                        continue;
                k = event_value_format(r, i, &value);
                if (k < 0)
                        return k;
                k = journal_fields_add(&f, "%s=%s", event_field_table[i].journal, value);
                if (k < 0)
                        return k;
        }
        *ret = f;
        f = (JournalFields) {};
        return 0;
}

int journal_fields_line(const JournalFields *f, char **ret) {
        const char *message = "";
        size_t size = 1;
        char *line, *p;

        for (size_t i = 0; i < f->n; i++) {
                size += strlen(f->v[i]) + 3;
                if (strncmp(f->v[i], "MESSAGE=", 8) == 0) {
                        message = f->v[i] + 8;
                        size += strlen(message); /* room to escape every byte */
                }
        }

        line = p = malloc(size);
        if (!line)
                return -ENOMEM;
        /* The message quotes the strings a process chose (escaped already):
         * escaped once more here, it holds no bare quote, so no part of it
         * can pass for a NAME="value" field of the line. */
        for (const char *c = message; *c; c++) {
                if (*c == '"' || *c == '\\')
                        *p++ = '\\';
                *p++ = *c;
        }
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->v[i], '=');

                if (!eq || strncmp(f->v[i], "MESSAGE=", 8) == 0)
                        continue;
                *p++ = ' ';
                p = mempcpy(p, f->v[i], eq - f->v[i] + 1);
                *p++ = '"';
                p = stpcpy(p, eq + 1);
                *p++ = '"';
        }
        *p = 0;
        *ret = line;
        return 0;
}

/* sd_journal_sendv() reports success when journald's socket does not exist
 * at all ("fail silently"), so look for it ourselves; a socket nobody
 * listens on does give an error. */
static int journal_reachable(void) {
        struct stat st;

        if (stat(JOURNAL_SOCKET, &st) < 0)
                return -errno;
        return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}

static void journal_state(int r) {
        static bool broken = false;

        if (r < 0 && !broken)
                log_warning_errno(r, "Cannot write to the journal (" JOURNAL_SOCKET ": %m): events go to stderr "
                                     "until it is back.");
        else if (r >= 0 && broken)
                log_notice("The journal is reachable again: events go to the journal.");
        broken = r < 0;
}

static void stderr_line(const JournalFields *f) {
        _cleanup_free_ char *line = NULL;

        if (journal_fields_line(f, &line) < 0) {
                log_oom();
                return;
        }
        fprintf(stderr, FL_SYSLOG_IDENTIFIER ": %s\n", line);
        fflush(stderr);
}

int journal_send(const JournalFields *f) {
        _cleanup_free_ struct iovec *iov = NULL;
        static const char ident[] = "SYSLOG_IDENTIFIER=" FL_SYSLOG_IDENTIFIER;
        int r;

        iov = calloc(f->n + 1, sizeof(struct iovec));
        if (!iov)
                return log_oom();
        for (size_t i = 0; i < f->n; i++)
                iov[i] = (struct iovec) { .iov_base = f->v[i], .iov_len = strlen(f->v[i]) };
        iov[f->n] = (struct iovec) { .iov_base = (char *) ident, .iov_len = strlen(ident) };

        r = journal_reachable();
        if (r >= 0)
                r = sd_journal_sendv(iov, (int) f->n + 1);
        journal_state(r);
        if (r < 0)
                stderr_line(f);
        return r;
}

int journal_send_event(const EventRecord *r) {
        _cleanup_(journal_fields_done) JournalFields f = {};
        int k;

        k = journal_fields_from_event(r, &f);
        if (k < 0)
                return log_error_errno(k, "Failed to format an event: %m");
        return journal_send(&f);
}

/* Moves AP past the arguments that FORMAT consumes, as printf would: the
 * "format, args..., format, args..., NULL" list has no other way to find
 * where one field's arguments end. Positional arguments are not supported. */
static int va_skip_format(const char *format, va_list *ap) {
        for (const char *p = format; *p; p++) {
                int longs = 0, shorts = 0;
                bool big = false;

                if (*p != '%')
                        continue;
                p++;
                if (*p == '%')
                        continue;
                p += strspn(p, "-+ #0'I");
                if (*p == '*')
                        (void) va_arg(*ap, int), p++;
                else
                        p += strspn(p, "0123456789");
                if (*p == '$')
                        return -EINVAL;
                if (*p == '.') {
                        p++;
                        if (*p == '*')
                                (void) va_arg(*ap, int), p++;
                        else
                                p += strspn(p, "0123456789");
                }
                for (;; p++) {
                        if (*p == 'l')
                                longs++;
                        else if (*p == 'h')
                                shorts++;
                        else if (*p && strchr("qjzZtL", *p))
                                big = true, longs = 2;
                        else
                                break;
                }
                switch (*p) {
                case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': case 'c':
                        if (longs >= 2)
                                (void) va_arg(*ap, long long);
                        else if (longs == 1)
                                (void) va_arg(*ap, long);
                        else
                                (void) va_arg(*ap, int);
                        break;
                case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
                        if (big)
                                (void) va_arg(*ap, long double);
                        else
                                (void) va_arg(*ap, double);
                        break;
                case 's': case 'p': case 'n': case 'S':
                        (void) va_arg(*ap, void *);
                        break;
                case 'C':
                        (void) va_arg(*ap, wint_t);
                        break;
                case 'm':
                        break;
                default:
                        return -EINVAL;
                }
                (void) shorts; /* promoted to int */
        }
        return 0;
}

int journal_struct(int priority, const char *message_id, const char *format, ...) {
        _cleanup_(journal_fields_done) JournalFields f = {};
        va_list ap;
        int r;

        if ((r = journal_fields_add(&f, "MESSAGE_ID=%s", message_id)) < 0 ||
            (r = journal_fields_add(&f, "PRIORITY=%i", priority)) < 0)
                return log_oom();

        va_start(ap, format);
        for (const char *fmt = format; fmt; fmt = va_arg(ap, const char *)) {
                va_list aq;

                va_copy(aq, ap);
                r = journal_fields_addv(&f, fmt, aq);
                va_end(aq);
                if (r >= 0)
                        r = va_skip_format(fmt, &ap);
                if (r < 0)
                        break;
        }
        va_end(ap);
        if (r < 0)
                return log_error_errno(r, "Failed to format a journal entry: %m");

        return journal_send(&f);
}
