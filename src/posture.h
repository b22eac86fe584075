/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "manager.h"

typedef struct PostureItem {
        char *item;
        char *value; /* its state first ("noexec", "exec", "active", "0", ...), then why, in parentheses */
} PostureItem;

typedef struct Posture {
        PostureItem *v;
        size_t n;
} Posture;

/* What on this machine affects fileless execution, read when asked, never
 * changed: the backend in force, why, what it cannot see and how it blocks;
 * whether the BPF LSM is active; vm.memfd_noexec; whether /dev/shm, /tmp and
 * each mount below /run/user is mounted noexec; the trusted executables and
 * the unit scopes. */
int posture_read(Manager *m, Posture *ret);
void posture_done(Posture *p);
