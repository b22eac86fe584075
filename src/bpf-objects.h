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

/* Takes over the pins of an earlier instance if they are complete, consistent
 * and of the backend CHOICE allows: 1 taken over (the profile applied), 0
 * nothing to take over (the reason logged), or a negative errno. */
int fl_bpf_try_takeover(FlBpf *b, int choice, int profile, const FlOptions *opts);

struct fl_config fl_config_make(const FlBpf *b, int backend, int profile);
int fl_config_read(int fd, struct fl_config *ret);
int fl_config_write(int fd, const struct fl_config *c);
void fl_bpf_fds_close(FlBpf *b);
