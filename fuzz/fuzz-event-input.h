/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How fuzz-event-format and fuzz-dbus-event read their input:
 *
 *   bytes [0, sizeof(struct fl_event))  the ring buffer record, zero-padded
 *                                       when the input is shorter
 *   next byte (the selector), optional  bits 0-1: shm_dir = none, /dev/shm,
 *                                       /run/shm, none; bit 2: a unit follows;
 *                                       bit 7: no EventContext at all
 *   the rest                            the unit name, cut at its first NUL
 *
 * All of struct fl_event is attacker-controlled in the sense that matters:
 * comm (prctl(PR_SET_NAME)), the names (memfd_create(), the file's name) and
 * the exec path are the exec'ing user's choice, the rest is not but costs
 * nothing to vary. The unit is a cgroup directory name, which a delegated
 * subtree lets an unprivileged user choose. shm_dir is not fuzzed: the daemon
 * only ever passes one of its two constants (bpf-loader.c, fl_bpf_shm_dir()). */

#include "event-format.h"
#include "fileless.h"
#include "fuzz-common.h"

/* fuzz/make-seeds.py writes the same layout. */
_Static_assert(sizeof(struct fl_event) == 608, "struct fl_event changed: update fuzz/make-seeds.py");

#define FUZZ_SEL_SHM_MASK 0x03U
#define FUZZ_SEL_UNIT 0x04U
#define FUZZ_SEL_NO_CTX 0x80U

typedef struct FuzzEvent {
        struct fl_event e;
        EventContext ctx;
        const EventContext *ctxp; /* &ctx or NULL */
        char *unit;               /* owned; ctx.unit */
} FuzzEvent;

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
        if (sel & FUZZ_SEL_UNIT) {
                ret->unit = strndup((const char *) data, size);
                if (!ret->unit)
                        abort();
                ret->ctx.unit = ret->unit;
        }
        ret->ctxp = sel & FUZZ_SEL_NO_CTX ? NULL : &ret->ctx;
}

static inline void fuzz_event_done(FuzzEvent *fe) {
        free(fe->unit);
        fe->unit = NULL;
}

/* The value of field NAME, or NULL when F has none. */
static inline const char *fuzz_field(const EventFields *f, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < f->n; i++)
                if (strncmp(f->fields[i], name, n) == 0 && f->fields[i][n] == '=')
                        return f->fields[i] + n + 1;
        return NULL;
}
