/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>
#include <sys/sysmacros.h>

#include "bus-event.h"
#include "names.h"
#include "util.h"

static const char *field_value(const EventFields *f, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < f->n; i++)
                if (strncmp(f->fields[i], name, n) == 0 && f->fields[i][n] == '=')
                        return f->fields[i] + n + 1;
        return "";
}

int bus_event_append(sd_bus_message *s, const struct fl_event *e, const EventFields *f, uint64_t realtime_usec) {
        int r;

        r = sd_bus_message_open_container(s, 'a', "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_append(
                s, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}",
                "Timestamp", "t", realtime_usec,
                "Action", "s", field_value(f, "FILELESS_ACTION"),
                "Kind", "s", field_value(f, "FILELESS_KIND"),
                "Profile", "s", field_value(f, "FILELESS_PROFILE"),
                "Backend", "s", field_value(f, "FILELESS_BACKEND"),
                "Pid", "u", e->pid,
                "PPid", "u", e->ppid,
                "Uid", "u", e->uid,
                "Gid", "u", e->gid,
                "Comm", "s", field_value(f, "FILELESS_COMM"),
                "ParentComm", "s", field_value(f, "FILELESS_PARENT_COMM"),
                "FileName", "s", field_value(f, "FILELESS_FILE_NAME"),
                "ExecPath", "s", field_value(f, "FILELESS_EXEC_PATH"),
                "Inode", "t", (uint64_t) e->inode,
                "Device", "t", (uint64_t) makedev(kdev_major(e->dev), kdev_minor(e->dev)),
                "PidNamespace", "t", (uint64_t) e->pidns,
                "CgroupId", "t", (uint64_t) e->cgroup_id);
        if (r < 0)
                return r;
        /* Unit only when the process belongs to one. */
        if (!isempty(field_value(f, "FILELESS_UNIT"))) {
                r = sd_bus_message_append(s, "{sv}", "Unit", "s", field_value(f, "FILELESS_UNIT"));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(s);
}

int bus_error_invalid_profile(sd_bus_error *error, const char *value) {
        _cleanup_free_ char *shown = escape_string(value, 64);

        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Invalid profile \"%s%s\": valid profiles are " PROFILE_VALID_NAMES ".",
                                 strempty(shown), strlen(value) > 64 ? "..." : "");
}
