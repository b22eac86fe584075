/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <syslog.h>

#include "event-format.h"
#include "message-ids.h"
#include "names.h"
#include "util.h"

size_t utf8_sequence_length(const unsigned char *s, size_t n) {
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        /* Noncharacters: sd-bus refuses them in a string, so one in a memfd
         * name would cost the whole Event signal. */
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
                return 0;
        return len;
}

char *escape_string(const char *s, size_t maxlen) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strnlen(s, maxlen), j = 0;
        char *r;

        /* Worst case: every byte becomes \xNN. */
        r = malloc(n * 4 + 1);
        if (!r)
                return NULL;

        for (size_t i = 0; i < n;) {
                size_t len = utf8_sequence_length(p + i, n - i);
                unsigned char c = p[i];

                /* C1 controls (U+0080..U+009F) are valid UTF-8 but drive
                 * terminals like C0 ones: escaped byte by byte, as invalid
                 * bytes are. */
                if (len == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
                        j += sprintf(r + j, "\\x%02x\\x%02x", c, p[i + 1]);
                        i += 2;
                        continue;
                }
                if (len > 1) {
                        memcpy(r + j, p + i, len);
                        j += len;
                        i += len;
                        continue;
                }
                i++;
                switch (c) {
                case '\n':
                        r[j++] = '\\', r[j++] = 'n';
                        break;
                case '\t':
                        r[j++] = '\\', r[j++] = 't';
                        break;
                case '\\':
                case '"':
                        r[j++] = '\\', r[j++] = c;
                        break;
                default:
                        if (len == 0 || c < 0x20 || c == 0x7f)
                                j += sprintf(r + j, "\\x%02x", c);
                        else
                                r[j++] = c;
                }
        }
        r[j] = 0;
        return r;
}

_printf_(2, 3) static int add_field(EventFields *f, const char *format, ...) {
        va_list ap;
        int r;

        if (f->n >= EVENT_FIELDS_MAX)
                return -E2BIG;
        va_start(ap, format);
        r = vasprintf(&f->fields[f->n], format, ap);
        va_end(ap);
        if (r < 0) {
                f->fields[f->n] = NULL;
                return -ENOMEM;
        }
        f->n++;
        return 0;
}

void event_fields_done(EventFields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->fields[i]);
        free(f->message);
        *f = (EventFields) {};
}

static const char *verb(int action) {
        switch (action) {
        case FL_ACTION_ALLOWED:
                return "Allowed";
        case FL_ACTION_DENIED:
                return "Denied";
        case FL_ACTION_KILLED:
                return "Killed";
        default:
                return "Saw";
        }
}

int event_format(const struct fl_event *e, const EventContext *ctx, EventFields *ret) {
        _cleanup_free_ char *comm = NULL, *pcomm = NULL, *name = NULL, *path = NULL, *file = NULL, *unit = NULL;
        const char *kind = kind_to_string(e->kind) ?: "unknown", *action = action_to_string(e->action) ?: "unknown",
                   *profile = profile_to_string(e->profile) ?: "unknown",
                   *backend = backend_to_string(e->backend) ?: "unknown";
        bool script = e->flags & FL_EVENT_SCRIPT;
        EventFields f = {};
        int r;

        comm = escape_string(e->comm, sizeof(e->comm));
        pcomm = escape_string(e->parent_comm, sizeof(e->parent_comm));
        name = escape_string(e->name, sizeof(e->name));
        path = escape_string(e->path, sizeof(e->path));
        if (!comm || !pcomm || !name || !path)
                return -ENOMEM;
        /* Cgroup names under a delegated subtree are the user's choice too. */
        if (ctx && ctx->unit && !(unit = escape_string(ctx->unit, SIZE_MAX)))
                return -ENOMEM;

        /* A shm object is best known by its path; the kernel only gave us the
         * dentry name, the mount point is ours. A script the tracepoint backend
         * knows only by its exec path is named by that. */
        if (e->flags & FL_EVENT_BY_PATH)
                r = asprintf(&file, "%s", path);
        else if (e->kind == FL_KIND_SHM && ctx && ctx->shm_dir)
                r = asprintf(&file, "%s/%s", ctx->shm_dir, name);
        else
                r = asprintf(&file, "%s", name);
        if (r < 0)
                return -ENOMEM;

        f.priority = e->action == FL_ACTION_ALLOWED ? LOG_NOTICE : LOG_WARNING;
        if (asprintf(&f.message, "%s fileless execution of %s%s (%s) by pid %u (%s), uid %u, via %s; profile %s, backend %s",
                     verb(e->action), script ? "#! script " : "", file, kind, e->pid, comm, e->uid,
                     isempty(path) ? "-" : path, profile, backend) < 0)
                return -ENOMEM;

        if ((r = add_field(&f, "MESSAGE_ID=" FL_MESSAGE_FILELESS_EXEC)) < 0 ||
            (r = add_field(&f, "PRIORITY=%i", f.priority)) < 0 ||
            (r = add_field(&f, "OBJECT_PID=%u", e->pid)) < 0 ||
            (r = add_field(&f, "FILELESS_ACTION=%s", action)) < 0 ||
            (r = add_field(&f, "FILELESS_KIND=%s", kind)) < 0 ||
            (r = add_field(&f, "FILELESS_PROFILE=%s", profile)) < 0 ||
            (r = add_field(&f, "FILELESS_BACKEND=%s", backend)) < 0 ||
            (r = add_field(&f, "FILELESS_SCRIPT=%i", script)) < 0 ||
            (r = add_field(&f, "FILELESS_PID=%u", e->pid)) < 0 ||
            (r = add_field(&f, "FILELESS_PPID=%u", e->ppid)) < 0 ||
            (r = add_field(&f, "FILELESS_UID=%u", e->uid)) < 0 ||
            (r = add_field(&f, "FILELESS_GID=%u", e->gid)) < 0 ||
            (r = add_field(&f, "FILELESS_COMM=%s", comm)) < 0 ||
            (r = add_field(&f, "FILELESS_PARENT_COMM=%s", pcomm)) < 0 ||
            (r = add_field(&f, "FILELESS_FILE_NAME=%s", file)) < 0 ||
            (r = add_field(&f, "FILELESS_EXEC_PATH=%s", path)) < 0 ||
            (r = add_field(&f, "FILELESS_INODE=%llu", (unsigned long long) e->inode)) < 0 ||
            (r = add_field(&f, "FILELESS_DEVICE=%u:%u", kdev_major(e->dev), kdev_minor(e->dev))) < 0 ||
            (r = add_field(&f, "FILELESS_PID_NAMESPACE=%u", e->pidns)) < 0 ||
            (r = add_field(&f, "FILELESS_PID_NAMESPACE_LEVEL=%u", e->pidns_level)) < 0 ||
            (r = add_field(&f, "FILELESS_CGROUP_ID=%llu", (unsigned long long) e->cgroup_id)) < 0 ||
            (r = add_field(&f, "FILELESS_TIMESTAMP=%llu", (unsigned long long) (ctx ? ctx->realtime_usec : 0))) < 0 ||
            (unit && (r = add_field(&f, "FILELESS_UNIT=%s", unit)) < 0)) {
                event_fields_done(&f);
                return r;
        }

        *ret = f;
        return 0;
}

int event_format_line(const EventFields *f, char **ret) {
        size_t size = strlen(f->message) + 1;
        char *line, *p;

        for (size_t i = 0; i < f->n; i++)
                size += strlen(f->fields[i]) + 3;

        line = p = malloc(size + 2);
        if (!line)
                return -ENOMEM;
        p = stpcpy(p, f->message);
        /* The values are escaped, so none holds a quote or a newline: quoting
         * is enough to keep the line parseable. */
        for (size_t i = 0; i < f->n; i++) {
                const char *eq = strchr(f->fields[i], '=');

                *p++ = ' ';
                p = mempcpy(p, f->fields[i], eq - f->fields[i] + 1);
                *p++ = '"';
                p = stpcpy(p, eq + 1);
                *p++ = '"';
        }
        *p = 0;
        *ret = line;
        return 0;
}
