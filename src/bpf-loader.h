/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fileless.h"

/* The kernel side of the daemon: the attached program and its maps, pinned
 * under a directory of bpffs so that enforcement outlives the daemon. */
typedef struct FlBpf {
        char *pin_path;
        int backend;    /* enum fl_backend actually in force */
        bool reused;    /* the pins of an earlier instance were taken over */
        int config_fd;
        int stats_fd;
        int events_fd;
        int link_fd;
        uint32_t shm_devs_n;
        uint64_t shm_devs[FL_SHM_DEVS_MAX];    /* kernel encoding */
        const char *shm_dirs[FL_SHM_DEVS_MAX]; /* where each one is mounted */
} FlBpf;

/* Loads, configures, attaches and pins, or takes over what an earlier
 * instance pinned at PIN_PATH. BACKEND is an enum fl_backend_choice. The
 * profile is written before the program is attached. */
int fl_bpf_setup(const char *pin_path, int backend, int profile, FlBpf **ret);
FlBpf *fl_bpf_free(FlBpf *b);

int fl_bpf_set_profile(FlBpf *b, int profile);
int fl_bpf_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX]);
const char *fl_bpf_shm_dir(const FlBpf *b, uint64_t dev);

/* Checks that the pins are still in place; enforcement goes on regardless
 * as long as this process holds the link. */
int fl_bpf_check_pins(FlBpf *b);

/* Removes the pins. Returns 0 if there was nothing to remove, 1 otherwise. */
int fl_bpf_unpin(const char *pin_path);
