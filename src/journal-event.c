/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <sys/stat.h>
#include <sys/uio.h>
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "journal-event.h"
#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool journal_broken = false;

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
        if (r < 0 && !journal_broken)
                log_warning_errno(r, "Cannot write to the journal (" JOURNAL_SOCKET ": %m): events go to stderr until it is back.");
        else if (r >= 0 && journal_broken)
                log_notice("The journal is reachable again: events go to the journal.");
        journal_broken = r < 0;
}

static int send_fields(const char *message, int priority, const char *const *fields, size_t n) {
        _cleanup_free_ struct iovec *iov = NULL;
        _cleanup_free_ char *msg = NULL, *prio = NULL;
        size_t k = 0;
        int r;

        iov = calloc(n + 3, sizeof(struct iovec));
        if (!iov || asprintf(&msg, "MESSAGE=%s", message) < 0)
                return -ENOMEM;
        iov[k++] = (struct iovec) { .iov_base = msg, .iov_len = strlen(msg) };
        iov[k++] = (struct iovec) { .iov_base = (char *) "SYSLOG_IDENTIFIER=" FL_SYSLOG_IDENTIFIER,
                                    .iov_len = strlen("SYSLOG_IDENTIFIER=" FL_SYSLOG_IDENTIFIER) };
        for (size_t i = 0; i < n; i++)
                iov[k++] = (struct iovec) { .iov_base = (char *) fields[i], .iov_len = strlen(fields[i]) };
        /* Callers without a PRIORITY= field get the one given. */
        if (priority >= 0) {
                if (asprintf(&prio, "PRIORITY=%i", priority) < 0)
                        return -ENOMEM;
                iov[k++] = (struct iovec) { .iov_base = prio, .iov_len = strlen(prio) };
        }

        r = journal_reachable();
        if (r >= 0)
                r = sd_journal_sendv(iov, (int) k);
        journal_state(r);
        return r;
}

static void stderr_line(const char *message, const char *const *fields, size_t n) {
        EventFields f = { .n = n, .message = (char *) message };
        _cleanup_free_ char *line = NULL;

        memcpy(f.fields, fields, n * sizeof(char *));
        if (event_format_line(&f, &line) < 0) {
                log_oom();
                return;
        }
        fprintf(stderr, FL_SYSLOG_IDENTIFIER ": %s\n", line);
        fflush(stderr);
}

int journal_send_event(const EventFields *f) {
        int r;

        r = send_fields(f->message, -1, (const char *const *) f->fields, f->n);
        if (r < 0)
                stderr_line(f->message, (const char *const *) f->fields, f->n);
        return r;
}

int journal_send_message(const char *message_id, int priority, const char *const *extra, const char *format, ...) {
        _cleanup_free_ char *message = NULL, *mid = NULL;
        const char *fields[EVENT_FIELDS_MAX];
        size_t n = 0;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0 || asprintf(&mid, "MESSAGE_ID=%s", message_id) < 0)
                return log_oom();

        fields[n++] = mid;
        for (; extra && *extra && n < ELEMENTSOF(fields); extra++)
                fields[n++] = *extra;

        r = send_fields(message, priority, fields, n);
        if (r < 0)
                stderr_line(message, fields, n);
        return r;
}
