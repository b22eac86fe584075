/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <syslog.h>

#include "escape.h"
#include "event-fields.h"
#include "names.h"
#include "util.h"

static int get_name(const char *s, EventValue *ret) {
        ret->str = strdup(s ?: "unknown");
        return ret->str ? 1 : -ENOMEM;
}

static int get_action(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_name(action_to_string(e->action), ret);
}

static int get_operation(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_name(op_to_string(e->op), ret);
}

static int get_kind(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_name(kind_to_string(e->kind), ret);
}

static int get_profile(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_name(profile_to_string(e->profile), ret);
}

static int get_backend(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_name(backend_to_string(e->backend), ret);
}

static int get_script(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        ret->num = !!(e->flags & FL_EVENT_SCRIPT);
        return 1;
}

/* The file by the best name we have: a shm object by its path (the kernel
 * gave the dentry name, the mount point is ours), a script that the
 * tracepoint backend knows only by its exec path by that path. */
static int get_file_name(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        _cleanup_free_ char *raw = NULL;
        int r;

        if (e->flags & FL_EVENT_BY_PATH)
                r = asprintf(&raw, "%.*s", (int) sizeof(e->path), e->path);
        else if (e->kind == FL_KIND_SHM && ctx && ctx->shm_dir)
                r = asprintf(&raw, "%s/%.*s", ctx->shm_dir, (int) sizeof(e->name), e->name);
        else
                r = asprintf(&raw, "%.*s", (int) sizeof(e->name), e->name);
        if (r < 0)
                return -ENOMEM;
        ret->str = escape_string(raw, SIZE_MAX);
        return ret->str ? 1 : -ENOMEM;
}

static int get_context_string(const char *s, EventValue *ret) {
        if (isempty(s))
                return 0;
        /* Cgroup names below a delegated subtree are a user's choice too. */
        ret->str = escape_string(s, SIZE_MAX);
        return ret->str ? 1 : -ENOMEM;
}

static int get_scope(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_context_string(ctx ? ctx->scope : NULL, ret);
}

static int get_unit(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_context_string(ctx ? ctx->unit : NULL, ret);
}

static int get_user_unit(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        return get_context_string(ctx ? ctx->user_unit : NULL, ret);
}

static int get_exec_comm(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        if (e->exec_comm[0] == 0)
                return 0;
        ret->str = escape_string(e->exec_comm, sizeof(e->exec_comm));
        return ret->str ? 1 : -ENOMEM;
}

static int get_timestamp(const struct fl_event *e, const EventContext *ctx, EventValue *ret) {
        ret->num = ctx ? ctx->realtime_usec : 0;
        return 1;
}

#define RAW(member) .offset = offsetof(struct fl_event, member), .size = sizeof(((struct fl_event *) NULL)->member)

const EventFieldInfo event_field_table[_EVENT_FIELD_MAX] = {
        [EVENT_ACTION] = { "FILELESS_ACTION", "Action", EVENT_TYPE_STRING, .get = get_action,
                           .description = "allowed, allowed-trusted, denied (EPERM), killed (SIGKILL), or kill-failed" },
        [EVENT_OPERATION] = { "FILELESS_OPERATION", "Operation", EVENT_TYPE_STRING, .get = get_operation,
                              .description = "exec, or mmap and mprotect for code mapped without an exec" },
        [EVENT_KIND] = { "FILELESS_KIND", "Kind", EVENT_TYPE_STRING, .get = get_kind,
                         .description = "memfd, shm, tmpfile, deleted, userns or detached" },
        [EVENT_PROFILE] = { "FILELESS_PROFILE", "Profile", EVENT_TYPE_STRING, .get = get_profile,
                            .description = "the profile that decided" },
        [EVENT_SCOPE] = { "FILELESS_SCOPE", "Scope", EVENT_TYPE_STRING, .optional = true, .get = get_scope,
                          .description = "the unit or slice whose profile decided; absent for the machine-wide one" },
        [EVENT_BACKEND] = { "FILELESS_BACKEND", "Backend", EVENT_TYPE_STRING, .get = get_backend,
                            .description = "the backend that saw it" },
        [EVENT_SCRIPT] = { "FILELESS_SCRIPT", "Script", EVENT_TYPE_BOOL, .get = get_script,
                           .description = "the fileless file is a #! script run by its interpreter" },
        [EVENT_PID] = { "FILELESS_PID", "Pid", EVENT_TYPE_U32, RAW(pid),
                        .description = "process id, as seen from the initial pid namespace" },
        [EVENT_PPID] = { "FILELESS_PPID", "PPid", EVENT_TYPE_U32, RAW(ppid),
                         .description = "parent's process id" },
        [EVENT_UID] = { "FILELESS_UID", "Uid", EVENT_TYPE_U32, RAW(uid), .description = "real user id" },
        [EVENT_GID] = { "FILELESS_GID", "Gid", EVENT_TYPE_U32, RAW(gid), .description = "real group id" },
        [EVENT_COMM] = { "FILELESS_COMM", "Comm", EVENT_TYPE_STRING, RAW(comm),
                         .description = "the process's name before the exec" },
        [EVENT_EXEC_COMM] = { "FILELESS_EXEC_COMM", "ExecComm", EVENT_TYPE_STRING, .optional = true,
                              .get = get_exec_comm,
                              .description = "the name the new image was given (tracepoint backend)" },
        [EVENT_PARENT_COMM] = { "FILELESS_PARENT_COMM", "ParentComm", EVENT_TYPE_STRING, RAW(parent_comm),
                                .description = "the parent's name" },
        [EVENT_PROGRAM] = { "FILELESS_PROGRAM", "Program", EVENT_TYPE_STRING, RAW(program),
                            .description = "the file name of the program that did it" },
        [EVENT_PROGRAM_INODE] = { "FILELESS_PROGRAM_INODE", "ProgramInode", EVENT_TYPE_U64, RAW(prog_inode),
                                  .description = "the inode of that program's file (0 when unknown)" },
        [EVENT_FILE_NAME] = { "FILELESS_FILE_NAME", "FileName", EVENT_TYPE_STRING, .get = get_file_name,
                              .description = "the file's own name: memfd:NAME, #INODE, a /dev/shm path, an old basename" },
        [EVENT_EXEC_PATH] = { "FILELESS_EXEC_PATH", "ExecPath", EVENT_TYPE_STRING, RAW(path),
                              .description = "the path given to exec; empty for a mapping" },
        [EVENT_INODE] = { "FILELESS_INODE", "Inode", EVENT_TYPE_U64, RAW(inode), .description = "inode number" },
        [EVENT_DEVICE] = { "FILELESS_DEVICE", "Device", EVENT_TYPE_DEVICE, RAW(dev),
                           .description = "device of the file's superblock" },
        [EVENT_PID_NAMESPACE] = { "FILELESS_PID_NAMESPACE", "PidNamespace", EVENT_TYPE_U64, RAW(pidns),
                                  .description = "inode of the process's active pid namespace" },
        [EVENT_PID_NAMESPACE_LEVEL] = { "FILELESS_PID_NAMESPACE_LEVEL", "PidNamespaceLevel", EVENT_TYPE_U32,
                                        RAW(pidns_level),
                                        .description = "depth of that namespace, 0 for the host's" },
        [EVENT_CGROUP_ID] = { "FILELESS_CGROUP_ID", "CgroupId", EVENT_TYPE_U64, RAW(cgroup_id),
                              .description = "the process's cgroup (v2) id" },
        [EVENT_UNIT] = { "FILELESS_UNIT", "Unit", EVENT_TYPE_STRING, .optional = true, .get = get_unit,
                         .description = "the system unit of that cgroup" },
        [EVENT_USER_UNIT] = { "FILELESS_USER_UNIT", "UserUnit", EVENT_TYPE_STRING, .optional = true,
                              .get = get_user_unit,
                              .description = "the unit of a user's service manager inside it" },
        [EVENT_TIMESTAMP] = { "FILELESS_TIMESTAMP", "Timestamp", EVENT_TYPE_U64, .get = get_timestamp,
                              .description = "when, in microseconds since the epoch" },
};

char event_type_bus_signature(EventFieldType t) {
        static const char sig[_EVENT_TYPE_MAX] = {
                [EVENT_TYPE_STRING] = 's', [EVENT_TYPE_U32] = 'u', [EVENT_TYPE_U64] = 't',
                [EVENT_TYPE_BOOL] = 'b',   [EVENT_TYPE_DEVICE] = 't',
        };

        return t >= 0 && t < _EVENT_TYPE_MAX ? sig[t] : 0;
}

EventField event_field_from_journal(const char *name) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                if (streq(event_field_table[f].journal, name))
                        return f;
        return _EVENT_FIELD_INVALID;
}

EventField event_field_from_bus(const char *key) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                if (streq(event_field_table[f].bus, key))
                        return f;
        return _EVENT_FIELD_INVALID;
}

void event_record_done(EventRecord *r) {
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                free(r->values[f].str);
        free(r->message);
        *r = (EventRecord) {};
}

int event_record_set_string(EventRecord *r, EventField f, const char *s, size_t maxlen) {
        char *v = escape_string(s, maxlen);

        if (!v)
                return -ENOMEM;
        free(r->values[f].str);
        r->values[f] = (EventValue) { .set = true, .str = v };
        return 0;
}

void event_record_set_number(EventRecord *r, EventField f, uint64_t v) {
        r->values[f] = (EventValue) { .set = true, .num = v };
}

const char *event_record_string(const EventRecord *r, EventField f) {
        return r->values[f].set ? r->values[f].str : NULL;
}

bool event_record_number(const EventRecord *r, EventField f, uint64_t *ret) {
        if (!r->values[f].set || event_field_table[f].type == EVENT_TYPE_STRING)
                return false;
        *ret = r->values[f].num;
        return true;
}

int event_value_format(const EventRecord *r, EventField f, char **ret) {
        const EventValue *v = &r->values[f];
        int k;

        switch (event_field_table[f].type) {
        case EVENT_TYPE_STRING:
                *ret = strdup(strempty(v->str));
                return *ret ? 0 : -ENOMEM;
        case EVENT_TYPE_DEVICE:
                k = asprintf(ret, "%u:%u", kdev_major(v->num), kdev_minor(v->num));
                break;
        default:
                k = asprintf(ret, "%" PRIu64, v->num);
        }
        return k < 0 ? -ENOMEM : 0;
}

int event_value_parse(EventRecord *r, EventField f, const char *value) {
        uint64_t a, b;
        const char *colon;

        switch (event_field_table[f].type) {
        case EVENT_TYPE_STRING:
                /* As the daemon wrote it: already escaped. */
                free(r->values[f].str);
                r->values[f] = (EventValue) { .set = true, .str = strdup(value) };
                return r->values[f].str ? 0 : -ENOMEM;
        case EVENT_TYPE_U32:
                if (!parse_uint64(value, UINT32_MAX, &a))
                        return -EINVAL;
                break;
        case EVENT_TYPE_U64:
                if (!parse_uint64(value, UINT64_MAX, &a))
                        return -EINVAL;
                break;
        case EVENT_TYPE_BOOL:
                if (!parse_uint64(value, 1, &a))
                        return -EINVAL;
                break;
        case EVENT_TYPE_DEVICE: {
                _cleanup_free_ char *major = NULL;

                colon = strchr(value, ':');
                if (!colon || !(major = strndup(value, colon - value)))
                        return colon ? -ENOMEM : -EINVAL;
                if (!parse_uint64(major, (1U << (32 - KDEV_MINORBITS)) - 1, &a) ||
                    !parse_uint64(colon + 1, (1U << KDEV_MINORBITS) - 1, &b))
                        return -EINVAL;
                a = kdev_from_major_minor((unsigned) a, (unsigned) b);
                break;
        }
        default:
                return -EINVAL;
        }
        event_record_set_number(r, f, a);
        return 0;
}

static uint64_t read_raw(const struct fl_event *e, size_t offset, size_t size) {
        const uint8_t *p = (const uint8_t *) e + offset;
        uint64_t v64;
        uint32_t v32;
        uint8_t v8;

        switch (size) {
        case 8:
                memcpy(&v64, p, 8);
                return v64;
        case 4:
                memcpy(&v32, p, 4);
                return v32;
        default:
                memcpy(&v8, p, 1);
                return v8;
        }
}

static int field_from_kernel(const struct fl_event *e, const EventContext *ctx, EventField f, EventValue *ret) {
        const EventFieldInfo *info = &event_field_table[f];

        if (info->get)
                return info->get(e, ctx, ret);
        if (info->type == EVENT_TYPE_STRING) {
                ret->str = escape_string((const char *) e + info->offset, info->size);
                return ret->str ? 1 : -ENOMEM;
        }
        ret->num = read_raw(e, info->offset, info->size);
        return 1;
}

static const char *verb(int action) {
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

/* Who did it comes first and the strings the process chose (its name, the
 * file's name, the path) come quoted and escaped, so that no memfd name can
 * make the line read as if another process, or nobody, did it. */
static int compose_message(const struct fl_event *e, EventRecord *r) {
        const char *path = r->values[EVENT_EXEC_PATH].str;
        bool exec = e->op == FL_OP_EXEC;

        return asprintf(&r->message,
                        "%s fileless %s%s%s by pid %u (\"%s\", program \"%s\"), uid %u: %s%s \"%s\"%s%s%s; "
                        "profile %s, backend %s",
                        verb(e->action), exec ? "execution" : "executable mapping (", exec ? "" : r->values[EVENT_OPERATION].str,
                        exec ? "" : ")", e->pid, r->values[EVENT_COMM].str, r->values[EVENT_PROGRAM].str, e->uid,
                        e->flags & FL_EVENT_SCRIPT ? "#! script in " : "", r->values[EVENT_KIND].str,
                        r->values[EVENT_FILE_NAME].str, exec ? " via \"" : "", exec ? (isempty(path) ? "-" : path) : "",
                        exec ? "\"" : "", r->values[EVENT_PROFILE].str, r->values[EVENT_BACKEND].str) < 0
                       ? -ENOMEM
                       : 0;
}

int event_record_from_kernel(const struct fl_event *e, const EventContext *ctx, EventRecord *ret) {
        EventRecord r = {};
        int k;

        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                k = field_from_kernel(e, ctx, f, &r.values[f]);
                if (k < 0) {
                        event_record_done(&r);
                        return k;
                }
                r.values[f].set = k > 0;
        }

        r.priority = e->action == FL_ACTION_TRUSTED       ? LOG_INFO
                     : e->action == FL_ACTION_ALLOWED     ? LOG_NOTICE
                     : e->action == FL_ACTION_KILL_FAILED ? LOG_ERR
                                                          : LOG_WARNING;
        k = compose_message(e, &r);
        if (k < 0) {
                event_record_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}
