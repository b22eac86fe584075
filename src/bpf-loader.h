/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fileless.h"
#include "util.h"

/* The maps the daemon itself uses, each pinned under its own name. */
typedef enum FlMap {
        FL_MAP_CONFIG,
        FL_MAP_STATS,
        FL_MAP_EVENTS,
        FL_MAP_SCOPES,
        FL_MAP_TRUSTED,
        _FL_MAP_MAX,
} FlMap;

#define FL_LINKS_MAX 8
#define FL_AUX_PINS_MAX 16

typedef struct FlScope {
        const char *unit;
        int profile;
} FlScope;

typedef struct FlOptions {
        /* The tracepoint backend sees executable mappings only through the
         * raw syscall tracepoints, which cost every system call. */
        bool tracepoint_mappings;
        /* In the maps before a program is attached, like the profile. */
        const FlScope *scopes;
        size_t n_scopes;
        /* The root of the daemon's cgroup namespace, whose units the scopes
         * name (0: the kernel's root). */
        uint64_t cgroup_root_id;
} FlOptions;

/* The kernel side of the daemon: the attached programs and their maps,
 * pinned under a directory of bpffs so that enforcement outlives the
 * daemon. */
typedef struct FlBpf {
        char *pin_path;
        int backend;              /* enum fl_backend actually in force */
        bool reused;              /* the pins of an earlier instance were taken over */
        bool sees_mappings;       /* executable mappings are judged too */
        bool sees_prepare_exec;   /* sched_prepare_exec: the pre-exec executable and a #! script's own file */
        char *reason;             /* why this backend, for the log */
        int map_fds[_FL_MAP_MAX];
        int link_fds[FL_LINKS_MAX];
        char *link_names[FL_LINKS_MAX]; /* their pin names */
        size_t n_links;
        /* Pinned only so that a restarted daemon can check the links with
         * BPF_OBJ_GET alone (by id needs CAP_SYS_ADMIN): each linked
         * program, and the maps of the object the daemon does not use. */
        int aux_fds[FL_AUX_PINS_MAX];
        char *aux_names[FL_AUX_PINS_MAX]; /* their pin names */
        size_t n_aux;
        uint32_t scope_next_id;
        uint64_t cgroup_root_id;
        uint32_t pidns_inum;      /* our own pid namespace: with the initial one, the host side */
        uint32_t shm_devs_n;
        uint64_t shm_devs[FL_SHM_DEVS_MAX];    /* kernel encoding */
        const char *shm_dirs[FL_SHM_DEVS_MAX]; /* where each one is mounted */
        /* Sealed mode (bpf-seal.c): then the profile and scopes are read and
         * tightened only through fl_seal_ctl, and the maps it guards have no
         * fd here. */
        bool sealed;
        int tamper_level; /* enum fl_tamper_level */
        int ctl_fd;       /* fl_seal_ctl, -1 before sealing */
        int tamper_fd;    /* the fl_tamper ring buffer, -1 before sealing */
} FlBpf;

/* Loads, configures, attaches and pins, or takes over what an earlier
 * instance pinned at PIN_PATH. CHOICE is an enum fl_backend_choice. The
 * profile is written before the programs are attached. */
int fl_bpf_setup(const char *pin_path, int choice, int profile, const FlOptions *opts, FlBpf **ret);
FlBpf *fl_bpf_free(FlBpf *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(FlBpf *, fl_bpf_free);

/* Writes PROFILE and reads it back: 0 when the kernel enforces PROFILE. */
int fl_bpf_set_profile(FlBpf *b, int profile);
/* The profile the kernel enforces now. */
int fl_bpf_get_profile(FlBpf *b);

/* UNIT's scope: set to PROFILE, or removed (PROFILE 0). Returns its id. */
int fl_bpf_set_scope(FlBpf *b, const char *unit, int profile);
/* Makes the scopes in the kernel exactly SCOPES. */
int fl_bpf_sync_scopes(FlBpf *b, const FlScope *scopes, size_t n);
/* The profile of UNIT's scope in the kernel, 0 for none. */
int fl_bpf_get_scope(FlBpf *b, const char *unit);
/* UNIT as the key of the scopes map: -EINVAL if empty or too long. */
int fl_scope_key(const char *unit, struct fl_scope_key *ret);
/* The unit of the scope with ID, or NULL (removed since). */
char *fl_bpf_scope_name(FlBpf *b, uint32_t id);

typedef struct FlExe {
        uint64_t kdev; /* the kernel's encoding of the file's device */
        uint64_t inode;
        uint64_t dir_inode; /* the directory it is trusted in */
        char name[FL_NAME_LEN]; /* its name there */
} FlExe;

/* Makes the trusted executables in the kernel exactly EXES: the new ones
 * first, then the others go. */
int fl_bpf_sync_trusted(FlBpf *b, const FlExe *exes, size_t n);
int fl_bpf_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX]);
const char *fl_bpf_shm_dir(const FlBpf *b, uint64_t dev);

/* Whether every pin still names the object this daemon holds: 1 yes, 0 one
 * is missing or was replaced. Enforcement goes on regardless as long as this
 * process holds the links; after it exits, only what is pinned enforces. */
int fl_bpf_pins_intact(FlBpf *b);

/* Removes every pin and the directory, and waits for the links to be
 * detached. Returns 0 if there was nothing to remove, 1 when it is all gone,
 * 2 when another process still holds a link (said in the log). */
int fl_bpf_unpin(const char *pin_path);
