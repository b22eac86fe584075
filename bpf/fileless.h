/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the BPF programs and the daemon. Everything here is ABI of
 * the pinned maps: a daemon reuses maps pinned by an earlier instance only when
 * their FL_ABI_VERSION matches, so bump it whenever a struct below changes. */

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_ABI_VERSION 3U

#define FL_COMM_LEN 16
#define FL_NAME_LEN 256
#define FL_PATH_LEN 256
#define FL_PROGRAM_LEN 64
#define FL_UNIT_LEN 256     /* a systemd unit name, with its NUL */
#define FL_SCOPES_MAX 1024
#define FL_TRUSTED_MAX 256
#define FL_SHM_DEVS_MAX 4

enum fl_kind {
        FL_KIND_ORDINARY = 0,
        FL_KIND_MEMFD,
        FL_KIND_SHM,
        FL_KIND_TMPFILE,
        FL_KIND_DELETED,
        FL_KIND_USERNS,   /* on a superblock a non-initial user namespace owns (a user's own tmpfs) */
        FL_KIND_DETACHED, /* on tmpfs or ramfs behind a mount no path reaches (lazily unmounted, a clone) */
        _FL_KIND_MAX,
};

/* What the task was doing with the file. */
enum fl_op {
        FL_OP_EXEC = 0,
        FL_OP_MMAP,     /* a private executable mapping: a loader at work */
        FL_OP_MPROTECT, /* PROT_EXEC added to a private mapping */
        _FL_OP_MAX,
};

/* 0 is deliberately not a profile: a config entry that was never written
 * reads as 0, and the BPF side treats anything it does not know as
 * restricted. */
enum fl_profile {
        FL_PROFILE_ALLOW = 1,
        FL_PROFILE_BASELINE,
        FL_PROFILE_RESTRICTED,
        _FL_PROFILE_MAX,
};

enum fl_action {
        FL_ACTION_ALLOWED = 0,
        FL_ACTION_DENIED, /* lsm, fmod_ret: the exec failed with EPERM */
        FL_ACTION_KILLED, /* tracepoint: the new image got SIGKILL */
        FL_ACTION_KILL_FAILED, /* tracepoint: it should have, but bpf_send_signal() failed */
        FL_ACTION_TRUSTED,     /* allowed: the task's own executable is a trusted one */
        _FL_ACTION_MAX,
};

enum fl_backend {
        FL_BACKEND_LSM = 1,
        FL_BACKEND_TRACEPOINT,
        FL_BACKEND_FMOD_RET,
        _FL_BACKEND_MAX,
};

enum fl_stat {
        FL_STAT_FILELESS = 0, /* fileless execs seen, whatever the action */
        FL_STAT_BLOCKED,      /* of which denied or killed */
        FL_STAT_LOST,         /* events dropped because the ring buffer was full */
        _FL_STAT_MAX,
};

/* fl_event.flags */
#define FL_EVENT_SCRIPT 0x1U  /* the fileless file is a #! script; the interpreter ran it */
#define FL_EVENT_BY_PATH 0x4U /* known only by its exec path: no inode, device or name */

/* "fl_scopes": a profile for the processes of one systemd unit or slice,
 * keyed by its name (NUL-padded). The nearest scope above a task's cgroup
 * wins; the machine-wide profile applies where none is set. */
struct fl_scope_key {
        char name[FL_UNIT_LEN];
};

struct fl_scope {
        __u32 profile; /* enum fl_profile */
        __u32 id;      /* names it in events; never 0 */
};

/* "fl_trusted": executables whose processes may run fileless code, by the
 * identity of the file (its device in the kernel's encoding, its inode) and
 * the name it has where it was trusted (its directory's inode, its own
 * name), so that a hard link elsewhere is not the trusted file. */
struct fl_exe_key {
        __u64 dev;
        __u64 inode;
};

struct fl_exe_where {
        __u64 dir_inode;
        char name[FL_NAME_LEN];
};

/* The single entry of the "fl_config" map. */
struct fl_config {
        __u32 abi;     /* FL_ABI_VERSION of the daemon that created the maps */
        __u32 profile; /* enum fl_profile */
        __u32 backend; /* enum fl_backend the attached program implements */
        __u32 n_shm_devs;
        __u64 shm_devs[FL_SHM_DEVS_MAX]; /* s_dev of /dev/shm, /run/shm, in the kernel's encoding */
        /* The cgroup id of the root of the daemon's cgroup namespace: unit
         * scopes are systemd's units below it (0: the kernel's root). */
        __u64 cgroup_root_id;
        /* The inode of the daemon's own (active) pid namespace: with the
         * initial one, the host side for baseline and trust. */
        __u32 pidns_inum;
        __u32 pad;
};

/* One record in the "fl_events" ring buffer. The BPF side zeroes the whole
 * record before filling it in, so no stale kernel memory reaches user space. */
struct fl_event {
        __u64 boot_ns;   /* bpf_ktime_get_boot_ns() */
        __u64 inode;
        __u64 dev;       /* s_dev, kernel encoding (major << 20 | minor) */
        __u64 cgroup_id;
        __u64 prog_inode; /* the acting task's own executable */
        __u64 prog_dev;
        __u32 pidns;     /* inode of the exec'ing task's active pid namespace */
        __u32 pidns_level;
        __u32 pid;       /* tgid, as seen from the initial pid namespace */
        __u32 ppid;
        __u32 uid;
        __u32 gid;
        __u32 flags;     /* FL_EVENT_* */
        __u32 scope_id;  /* the fl_scope that decided; 0: the machine-wide profile */
        __u8 kind;       /* enum fl_kind */
        __u8 action;     /* enum fl_action */
        __u8 profile;    /* enum fl_profile in force */
        __u8 backend;    /* enum fl_backend */
        __u8 op;         /* enum fl_op */
        __u8 pad[3];
        char comm[FL_COMM_LEN];      /* the task's name before the exec */
        char exec_comm[FL_COMM_LEN]; /* tracepoint: the name the new image got; empty otherwise */
        char parent_comm[FL_COMM_LEN];
        char program[FL_PROGRAM_LEN]; /* the basename of the acting task's own executable */
        char name[FL_NAME_LEN]; /* the file's own dentry name: memfd:x, #1234, old basename */
        char path[FL_PATH_LEN]; /* the path given to exec (bprm->filename); empty for a mapping */
        /* The name of the cgroup below the slices below cgroup_root_id (the
         * unit, if systemd made it), read at the exec: the cgroup of a unit
         * killed at its first exec is often gone by the time the daemon
         * reads the event. Empty outside that root. */
        char unit[FL_UNIT_LEN];
};
