/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sealed mode, shared between the guard programs (fileless-guard.bpf.c) and
 * the daemon. Sealing is a one-way ratchet until reboot: the configuration
 * maps are frozen (no bpf(2) write by anybody, through any fd, whenever it
 * was opened), the profile and scopes then change only through fl_seal_ctl,
 * a BPF_PROG_TYPE_SYSCALL program that refuses anything but a tightening,
 * and on the lsm and fmod_ret backends the guard programs deny what would
 * remove or blind the programs. */

#include "fileless.h"

#define FL_GUARD_IDS_MAX 16
#define FL_GUARD_INOS_MAX 8

/* The single entry of the "fl_guard" map: written once at seal, then frozen. */
struct fl_guard_state {
        __u32 sealed;        /* 1 once sealed */
        __u32 level;         /* enum fl_tamper_level */
        __u64 sealed_at;     /* bpf_ktime_get_boot_ns() clock, µs since boot */
        __u64 bpffs_dev;     /* s_dev of the bpffs holding the pins, kernel encoding */
        __u64 daemon_dev;    /* the daemon's executable (the kernel's view: its file's f_inode), */
        __u64 daemon_inode;  /* set by FL_SEAL_CTL_REGISTER: its processes are the daemon */
        __u32 n_inos;
        __u32 n_map_ids;
        __u32 n_prog_ids;
        __u32 n_link_ids;
        __u64 inos[FL_GUARD_INOS_MAX]; /* the pin directory, then its ancestors on that bpffs */
        __u32 map_ids[FL_GUARD_IDS_MAX];  /* no new fd of any mode */
        __u32 prog_ids[FL_GUARD_IDS_MAX]; /* no new fd */
        __u32 link_ids[FL_GUARD_IDS_MAX]; /* no new fd by id */
};

enum fl_tamper_level {
        FL_TAMPER_NONE = 0,
        FL_TAMPER_EVIDENT, /* tracepoint: frozen maps, everything else only seen and logged */
        FL_TAMPER_DENIED,  /* lsm, fmod_ret: the guard programs deny */
        _FL_TAMPER_LEVEL_MAX,
};

/* What was tried. The kernel reports the first ones; the daemon the rest. */
enum fl_tamper_op {
        FL_TAMPER_MAP_FD = 0,  /* detail: fmode */
        FL_TAMPER_PROG_FD,
        FL_TAMPER_LINK_FD,     /* detail: bpf command */
        FL_TAMPER_MAP_WRITE,   /* detail: bpf command, through an fd the process had */
        FL_TAMPER_UNLINK,      /* target: inode */
        FL_TAMPER_RMDIR,
        FL_TAMPER_RENAME,
        FL_TAMPER_UMOUNT,      /* target: the superblock's device */
        FL_TAMPER_KILL,        /* target: pid; detail: signal */
        FL_TAMPER_PTRACE,      /* target: pid; detail: ptrace mode */
        FL_TAMPER_LOOSEN,      /* the daemon refused a loosening (D-Bus, reload, restart) */
        FL_TAMPER_DISABLE,     /* filelesslockd --disable refused */
        FL_TAMPER_PINS_GONE,   /* tracepoint: seen after the fact */
        _FL_TAMPER_OP_MAX,
};

/* One record in the "fl_tamper" ring buffer. */
struct fl_tamper_event {
        __u64 boot_ns;
        __u64 target;    /* object id, inode, device or pid, per op */
        __u64 cgroup_id;
        __u32 op;        /* enum fl_tamper_op */
        __u32 detail;
        __u32 pid;
        __u32 uid;
        char comm[FL_COMM_LEN];
};

enum fl_seal_ctl_op {
        FL_SEAL_CTL_QUERY = 1,  /* out: profile, backend, sealed, level, stats, tampered, id: the highest scope id */
        FL_SEAL_CTL_PROFILE,    /* in: profile; only upward */
        FL_SEAL_CTL_SCOPE_GET,  /* in: name; out: profile (0: none), id */
        FL_SEAL_CTL_SCOPE_SET,  /* in: name, profile, id; only upward (see the program) */
        FL_SEAL_CTL_SCOPE_NAME, /* in: id; out: name */
        FL_SEAL_CTL_REGISTER,   /* once: the caller's executable is the daemon's */
};

/* The context of fl_seal_ctl, in and out (BPF_PROG_TEST_RUN copies it back). */
struct fl_seal_ctl {
        __u32 op;        /* enum fl_seal_ctl_op */
        __u32 profile;
        __u32 id;
        __u32 sealed;
        __u32 level;
        __u32 backend;
        __u64 stats[_FL_STAT_MAX];
        __u64 tampered; /* attempts the guard refused */
        char name[FL_UNIT_LEN];
};
