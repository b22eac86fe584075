/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How fuzz-event-fields and fuzz-dbus-event read their input:
 *
 *   bytes [0, sizeof(struct fl_event))  the ring buffer record, zero-padded
 *                                       when the input is shorter
 *   next byte (the selector), optional  bits 0-1: shm_dir = none, /dev/shm,
 *                                       /run/shm, none; bit 2: a unit follows;
 *                                       bit 3: a user unit follows;
 *                                       bit 4: a scope follows;
 *                                       bit 7: no EventContext at all
 *   the rest                            the unit name up to its first NUL,
 *                                       then the user unit's, then the
 *                                       scope's (each when its bit is set,
 *                                       each up to its NUL or the end)
 *
 * All of struct fl_event is attacker-controlled in the sense that matters:
 * comm (prctl(PR_SET_NAME)), exec_comm (the new image's name), program (the
 * acting executable's file name), the names (memfd_create(), the file's
 * name) and the exec path are the exec'ing user's choice, the rest is not
 * but costs nothing to vary. The units are cgroup directory names, which a
 * delegated subtree lets an unprivileged user choose. The scope is a unit
 * name from the configuration or "#ID" in the daemon; any string here,
 * since it is escaped like the others. shm_dir is not fuzzed: the daemon
 * only ever passes one of its two constants (fl_bpf_shm_dir()). */

#include "event-fields.h"
#include "fileless.h"
#include "fuzz-common.h"

/* fuzz/make-seeds.py writes the same layout. */
_Static_assert(sizeof(struct fl_event) == 968, "struct fl_event changed: update fuzz/make-seeds.py");

#define FUZZ_SEL_SHM_MASK 0x03U
#define FUZZ_SEL_UNIT 0x04U
#define FUZZ_SEL_USER_UNIT 0x08U
#define FUZZ_SEL_SCOPE 0x10U
#define FUZZ_SEL_NO_CTX 0x80U

typedef struct FuzzEvent {
        struct fl_event e;
        EventContext ctx;
        const EventContext *ctxp; /* &ctx or NULL */
        char *unit, *user_unit, *scope; /* owned; ctx.unit, ctx.user_unit, ctx.scope */
} FuzzEvent;

/* The string at *DATA up to its NUL or the end, which it then skips. */
static inline char *fuzz_take_string(const uint8_t **data, size_t *size) {
        char *s = strndup((const char *) *data, *size);
        size_t n;

        if (!s)
                abort();
        n = strnlen((const char *) *data, *size);
        n += n < *size; /* and its NUL */
        *data += n, *size -= n;
        return s;
}

static inline void fuzz_event_decode(const uint8_t *data, size_t size, FuzzEvent *ret) {
        static const char *const shm_dirs[4] = { NULL, "/dev/shm", "/run/shm", NULL };
        size_t n = size < sizeof(ret->e) ? size : sizeof(ret->e);
        unsigned sel = 0;

        *ret = (FuzzEvent) {};
        memcpy(&ret->e, data, n);
        data += n, size -= n;
        if (size > 0) {
                sel = data[0];
                data++, size--;
        }

        ret->ctx.realtime_usec = ret->e.boot_ns / 1000;
        ret->ctx.shm_dir = shm_dirs[sel & FUZZ_SEL_SHM_MASK];
        if (sel & FUZZ_SEL_UNIT)
                ret->ctx.unit = ret->unit = fuzz_take_string(&data, &size);
        if (sel & FUZZ_SEL_USER_UNIT)
                ret->ctx.user_unit = ret->user_unit = fuzz_take_string(&data, &size);
        if (sel & FUZZ_SEL_SCOPE)
                ret->ctx.scope = ret->scope = fuzz_take_string(&data, &size);
        ret->ctxp = sel & FUZZ_SEL_NO_CTX ? NULL : &ret->ctx;
}

static inline void fuzz_event_done(FuzzEvent *fe) {
        free(fe->unit);
        free(fe->user_unit);
        free(fe->scope);
        fe->unit = fe->user_unit = fe->scope = NULL;
}

/* The daemon's names for the enums, written from bpf/fileless.h and the
 * README, not taken from names.c; "unknown" for anything else. */
static inline const char *fuzz_name_of(int v, const char *const *table, int lo, int hi) {
        return v >= lo && v <= hi ? table[v - lo] : "unknown";
}
static const char *const fuzz_kinds[] = { "ordinary", "memfd", "shm", "tmpfile", "deleted", "userns", "detached" };
static const char *const fuzz_actions[] = { "allowed", "denied", "killed", "kill-failed", "allowed-trusted" };
static const char *const fuzz_ops[] = { "exec", "mmap", "mprotect" };
static const char *const fuzz_profiles[] = { "allow", "baseline", "restricted" };
static const char *const fuzz_backends[] = { "lsm", "tracepoint", "fmod_ret" };
#define FUZZ_KIND(e) fuzz_name_of((e)->kind, fuzz_kinds, 0, 6)
#define FUZZ_ACTION(e) fuzz_name_of((e)->action, fuzz_actions, 0, 4)
#define FUZZ_OP(e) fuzz_name_of((e)->op, fuzz_ops, 0, 2)
#define FUZZ_PROFILE(e) fuzz_name_of((e)->profile, fuzz_profiles, 1, 3)
#define FUZZ_BACKEND(e) fuzz_name_of((e)->backend, fuzz_backends, 1, 3)
