/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Opens the cgroup2 hierarchy, whose directory inodes are the ids that
 * bpf_get_current_cgroup_id() returns. Returns an fd (and where it is
 * mounted) or a negative errno. */
int cgroup2_open(char **ret_mount);

/* The id of the cgroup at the root of the hierarchy CGROUP2_FD, mounted at
 * MOUNT: the root of our cgroup namespace, below which systemd lays out its
 * units. -EXDEV (with *RET set) when that mount shows a subtree rather than
 * the namespace's root. */
int cgroup2_root_id(int cgroup2_fd, const char *mount, uint64_t *ret);

/* 1 in the initial cgroup namespace, 0 in another, or a negative errno. */
int cgroup_ns_is_initial(void);

/* The units of a cgroup path, as systemd assigns them: the unit is the first
 * component below the root's chain of slices (a name anybody chose further
 * down, in a delegated subtree, never counts); when that unit is a user's
 * service manager (user@UID.service), the user unit is found the same way
 * below it. Each is NULL when there is none. Pure string work, for tests. */
int cgroup_path_units(const char *path, char **ret_unit, char **ret_user_unit);

/* The same for the cgroup with id ID in the hierarchy CGROUP2_FD, mounted at
 * MOUNT (0 and both NULL when the cgroup is gone). */
int cgroup_id_units(int cgroup2_fd, const char *mount, uint64_t id, char **ret_unit, char **ret_user_unit);
