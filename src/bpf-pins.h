/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The pin directory on bpffs and what is pinned in it. Every object that
 * must outlive the daemon is pinned here; the pins are ABI between one
 * daemon and the next (see FL_ABI_VERSION). */

/* Makes sure PATH is a directory on bpffs that only root can change: every
 * component root's, not writable by group or others, no symlink; missing
 * components are created 0700. A pin directory an unprivileged user could
 * write to would let them remove the pins, and with them enforcement. */
int pin_dir_prepare(const char *path);

/* Pins FD as DIR/NAME: under a temporary name, then renamed over NAME, so a
 * reader never finds a half-written set and an older pin is replaced in one
 * step. */
int pin_object(const char *dir, const char *name, int fd);

/* Opens DIR/NAME: an fd, -ENOENT, or another negative errno. */
int pin_open(const char *dir, const char *name);

/* Removes DIR/NAME (and a leftover temporary). 1 if it existed, 0 if not. */
int pin_remove(const char *dir, const char *name);

/* The id of the bpf object (map, program, link) behind FD, or 0. */
uint32_t bpf_object_id(int fd);
