/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bpf-objects.h"
#include "fileless-fmod.skel.h"
#include "fileless-lsm.skel.h"
#include "fileless-tp.skel.h"

const char *const map_pin_names[_FL_MAP_MAX] = {
        [FL_MAP_CONFIG] = "config",
        [FL_MAP_STATS] = "stats",
        [FL_MAP_EVENTS] = "events",
        [FL_MAP_SCOPES] = "scopes",
        [FL_MAP_TRUSTED] = "trusted",
};

void fl_objects_done(FlObjects *o) {
        if (o->skel)
                o->destroy(o->skel);
        *o = (FlObjects) {};
}

#define DEFINE_OBJECTS_OPEN(name, ...)                                                               \
        static void name##_destroy_any(void *p) {                                                    \
                name##__destroy(p);                                                                  \
        }                                                                                            \
        static int name##_open_objects(FlObjects *o) {                                               \
                struct name *s = name##__open();                                                     \
                                                                                                     \
                if (!s)                                                                              \
                        return -errno;                                                               \
                *o = (FlObjects) {                                                                   \
                        .skel = s,                                                                   \
                        .destroy = name##_destroy_any,                                               \
                        .obj = s->obj,                                                               \
                        .maps = { s->maps.fl_config, s->maps.fl_stats, s->maps.fl_events,           \
                                  s->maps.fl_scopes, s->maps.fl_trusted },                           \
                        .progs = { __VA_ARGS__ },                                                    \
                        .n_progs = ELEMENTSOF(((FlProgram[]) { __VA_ARGS__ })),                      \
                };                                                                                   \
                return 0;                                                                            \
        }

#define SECURITY_PROGRAMS                                                                        \
        { s->progs.fl_bprm_check, FL_ALWAYS }, { s->progs.fl_mmap_file, FL_ALWAYS },                 \
        { s->progs.fl_file_mprotect, FL_ALWAYS }, { s->progs.fl_exec_mark, FL_ALWAYS },                \
                { s->progs.fl_fork_mark, FL_ALWAYS }

DEFINE_OBJECTS_OPEN(fileless_lsm_bpf, SECURITY_PROGRAMS)
DEFINE_OBJECTS_OPEN(fileless_fmod_bpf, SECURITY_PROGRAMS)
DEFINE_OBJECTS_OPEN(fileless_tp_bpf, { s->progs.fl_prepare_exec, FL_IF_PREPARE_EXEC },
                    { s->progs.fl_task_rename, FL_UNLESS_PREPARE_EXEC }, { s->progs.fl_sched_exec, FL_ALWAYS },
                    { s->progs.fl_sys_enter, FL_IF_TP_MAPPINGS }, { s->progs.fl_sys_exit, FL_IF_TP_MAPPINGS },
                    { s->progs.fl_fork_mark, FL_ALWAYS })

static bool kernel_has_prepare_exec(void) {
        return libbpf_find_vmlinux_btf_id("sched_prepare_exec", BPF_TRACE_RAW_TP) > 0;
}

bool fl_program_wanted(const FlProgram *p, const FlOptions *opts) {
        switch (p->when) {
        case FL_IF_PREPARE_EXEC:
                return kernel_has_prepare_exec();
        case FL_UNLESS_PREPARE_EXEC:
                return !kernel_has_prepare_exec();
        case FL_IF_TP_MAPPINGS:
                return opts->tracepoint_mappings;
        default:
                return true;
        }
}

static const BackendInfo backend_info[] = {
        { FL_BACKEND_LSM, "the BPF LSM programs (backend lsm)", fileless_lsm_bpf_open_objects },
        { FL_BACKEND_FMOD_RET, "the fmod_ret programs on security_bprm_check() (backend fmod_ret)",
          fileless_fmod_bpf_open_objects },
        { FL_BACKEND_TRACEPOINT, "the sched_process_exec tracepoint programs (backend tracepoint)",
          fileless_tp_bpf_open_objects },
};

const BackendInfo *backend_info_get(int backend) {
        for (size_t i = 0; i < ELEMENTSOF(backend_info); i++)
                if (backend_info[i].backend == backend)
                        return &backend_info[i];
        return NULL;
}

int link_pin_name(const struct bpf_program *prog, char **ret) {
        return asprintf(ret, "link_%s", bpf_program__name(prog)) < 0 ? -ENOMEM : 0;
}

int prog_pin_name(const struct bpf_program *prog, char **ret) {
        return asprintf(ret, "prog_%s", bpf_program__name(prog)) < 0 ? -ENOMEM : 0;
}

int aux_map_pin_name(const struct bpf_map *map, char **ret) {
        if (asprintf(ret, "map_%s", bpf_map__name(map)) < 0)
                return -ENOMEM;
        for (char *s = *ret; *s; s++)
                if (*s == '.')
                        *s = '_';
        return 0;
}

bool fl_objects_own_map(const FlObjects *o, const struct bpf_map *m) {
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                if (m == o->maps[i])
                        return true;
        return false;
}

bool program_pin_name(const char *name) {
        return strncmp(name, "link", 4) == 0 || strncmp(name, "prog_", 5) == 0 || strncmp(name, "map_", 4) == 0;
}

