/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <bpf/libbpf.h>

#include "bpf-loader.h"

/* Private to the loader: one backend's BPF object, opened through its
 * skeleton for typed access to the maps and programs, so that a misspelt
 * name fails the build rather than the start. */

extern const char *const map_pin_names[_FL_MAP_MAX];

/* When a program is attached. */
typedef enum FlWhen {
        FL_ALWAYS,
        FL_IF_PREPARE_EXEC,     /* the kernel has sched_prepare_exec (6.10) */
        FL_UNLESS_PREPARE_EXEC,
        FL_IF_TP_MAPPINGS,      /* TracepointMappings=yes */
} FlWhen;

typedef struct FlProgram {
        struct bpf_program *prog;
        FlWhen when;
} FlProgram;

typedef struct FlObjects {
        void *skel;
        void (*destroy)(void *skel);
        struct bpf_object *obj;
        struct bpf_map *maps[_FL_MAP_MAX];
        FlProgram progs[FL_LINKS_MAX];
        size_t n_progs;
} FlObjects;

/* Whether P is to be attached on this kernel with these options. */
bool fl_program_wanted(const FlProgram *p, const FlOptions *opts);

void fl_objects_done(FlObjects *o);

typedef struct BackendInfo {
        int backend;
        const char *what; /* for messages */
        int (*open)(FlObjects *ret);
} BackendInfo;

const BackendInfo *backend_info_get(int backend);

/* "link_<program name>": where a program's link is pinned. */
int link_pin_name(const struct bpf_program *prog, char **ret);
/* "prog_<program name>": where the linked program itself is pinned. */
int prog_pin_name(const struct bpf_program *prog, char **ret);
/* "map_<map name>": where a map of the object other than the daemon's own
 * (o->maps) is pinned; bpffs refuses dots, which an internal map's name has. */
int aux_map_pin_name(const struct bpf_map *map, char **ret);
/* Whether M is one of the maps the daemon uses itself, pinned by
 * map_pin_names. */
bool fl_objects_own_map(const FlObjects *o, const struct bpf_map *m);
/* Whether pin NAME is of a kind pin_all() creates for programs: a link, a
 * program or a map of the object the daemon does not use. */
bool program_pin_name(const char *name);

/* Takes over the pins of an earlier instance if they are complete, consistent
 * and of the backend CHOICE allows: 1 taken over (the profile applied), 0
 * nothing to take over (the reason logged), or a negative errno. */
int fl_bpf_try_takeover(FlBpf *b, int choice, int profile, const FlOptions *opts);

struct fl_config fl_config_make(const FlBpf *b, int backend, int profile);
int fl_config_read(int fd, struct fl_config *ret);
int fl_config_write(int fd, const struct fl_config *c);
void fl_bpf_fds_close(FlBpf *b);
/* One more aux pin: FD and NAME are B's from now on, also on failure. */
int fl_bpf_add_aux(FlBpf *b, int fd, char *name);
