/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Opens the cgroup2 hierarchy, whose directory inodes are the ids that
 * bpf_get_current_cgroup_id() returns. Returns an fd or a negative errno. */
int cgroup2_open(void);

/* The systemd unit (the innermost path component ending in .service, .scope,
 * .socket, ... below a .slice) of the cgroup with id ID, or NULL when the cgroup is
 * gone or belongs to no unit. */
char *cgroup_id_to_unit(int cgroup2_fd, uint64_t id);
