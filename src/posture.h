/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

typedef struct PostureItem {
        const char *item;
        char *value;
} PostureItem;

/* The backend in force and what it cannot see, whether the BPF LSM is
 * active, vm.memfd_noexec, and whether /dev/shm, /tmp and the mounts below /run/user are
 * mounted noexec. */
int posture_read(const char *backend, const char *unseen, PostureItem **ret, size_t *ret_n);
void posture_free(PostureItem *v, size_t n);
