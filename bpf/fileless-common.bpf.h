/* SPDX-License-Identifier: GPL-2.0-only */
#pragma once

/* Maps, classification and event output shared by the backends. Each backend
 * is its own BPF object (fileless-security.bpf.c built as lsm and as fmod_ret,
 * fileless-tp.bpf.c), so a kernel without the BPF LSM never has to relocate
 * the LSM program and the 6.1 kernels that have it never see the tracepoint's
 * newer kfuncs. */

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "fileless.h"

#define EPERM 1
#define SIGKILL 9

char LICENSE[] SEC("license") = "GPL";

/* key: 0; value: the profile and the shm devices, written by the daemon before
 * the program is attached and on every profile change. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct fl_config);
} fl_config SEC(".maps");

/* key: enum fl_stat; value: a counter, only ever incremented atomically. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, _FL_STAT_MAX);
        __type(key, __u32);
        __type(value, __u64);
} fl_stats SEC(".maps");

/* struct fl_event records. Pinned with the rest, so events raised while the
 * daemon restarts wait here. */
struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 512 * 1024);
} fl_events SEC(".maps");

/* key: a unit or slice name; value: its profile and id. Written by the
 * daemon. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, FL_SCOPES_MAX);
        __type(key, struct fl_scope_key);
        __type(value, struct fl_scope);
} fl_scopes SEC(".maps");

/* key: an executable's device and inode; value: unused (1). Written by the
 * daemon. */
struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(max_entries, FL_TRUSTED_MAX);
        __type(key, struct fl_exe_key);
        __type(value, struct fl_exe_where);
} fl_trusted SEC(".maps");

/* Room for one scope key, too big for the stack. */
struct {
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct fl_scope_key);
} fl_scratch SEC(".maps");

/* What made a task's image, as far as trust goes: written at every exec
 * (sched_process_exec: the new image exists, none of its instructions has
 * run) and copied to the child at every fork and clone, so that it always
 * describes the image the task runs. key: a task; value: struct fl_mark. A
 * task without one (it started before the programs were attached, or memory
 * ran out) is never trusted. */
struct fl_mark {
        __u64 dev;   /* the image it was made for */
        __u64 inode;
        __u32 clean; /* 1: no ld.so variable in its environment, all of it read */
        __u32 pad;
};

struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct fl_mark);
} fl_trust_marks SEC(".maps");

static __always_inline void stat_inc(__u32 key) {
        __u64 *v = bpf_map_lookup_elem(&fl_stats, &key);

        if (v)
                __sync_fetch_and_add(v, 1);
}

static __always_inline const struct fl_config *config_get(void) {
        __u32 zero = 0;

        return bpf_map_lookup_elem(&fl_config, &zero);
}

/* O_TMPFILE files are given the name "#<inode number>" by d_tmpfile(); anything
 * else with nlink 0 was linked once and deleted. A deleted file that happened
 * to be called "#<its own inode>" would be reported as a tmpfile: still fileless,
 * only the kind differs. */
static __always_inline bool name_is_tmpfile(const unsigned char *name, __u64 ino) {
        char buf[24];
        __u64 v = 0;
        int i;

        if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) < 2 || buf[0] != '#')
                return false;

        for (i = 1; i < (int) sizeof(buf); i++) {
                char c = buf[i];

                if (c == 0)
                        return i > 1 && v == ino;
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (c - '0');
        }
        return false;
}

struct fl_file {
        struct dentry *dentry;
        __u64 ino;
        __u64 dev;
        __u32 kind;
};

#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

static __always_inline bool memory_fs(struct super_block *sb) {
        unsigned long magic = BPF_CORE_READ(sb, s_magic);

        return magic == TMPFS_MAGIC || magic == RAMFS_MAGIC;
}

static __always_inline bool dentry_named(struct dentry *d, const char *want, int len) {
        char buf[8] = {};

        if (bpf_probe_read_kernel_str(buf, sizeof(buf), BPF_CORE_READ(d, d_name.name)) != len + 1)
                return false;
        for (int i = 0; i < len && i < (int) sizeof(buf); i++)
                if (buf[i] != want[i])
                        return false;
        return true;
}

#define DENTRY_NAMED(d, lit) dentry_named((d), (lit), sizeof(lit) - 1)

static __always_inline struct mount *file_mount(struct file *file) {
        struct vfsmount *vm = BPF_CORE_READ(file, f_path.mnt);

        return (void *) vm - bpf_core_field_offset(struct mount, mnt);
}

/* Mounted at .../dev/shm or .../run/shm in whatever mount namespace: a
 * container runtime gives every container a fresh tmpfs there, which the
 * daemon, in the host's namespace, never sees. The name is the mount point's
 * and its parent's; /dev is often a mount of its own, then the parent is
 * that mount's mount point. Someone mounting a tmpfs at such a path
 * elsewhere only makes their own files count as shm. */
static __always_inline bool mounted_at_shm(struct file *file) {
        struct mount *m = file_mount(file), *parent;
        struct dentry *mp, *up;

        /* A mount stacked on another (a fresh tmpfs over an existing
         * /dev/shm) sits on the lower mount's root: climb to where the stack
         * is mounted. */
        for (int i = 0; i < 4; i++) {
                parent = BPF_CORE_READ(m, mnt_parent);
                mp = BPF_CORE_READ(m, mnt_mountpoint);
                if (parent == m || mp != BPF_CORE_READ(parent, mnt.mnt_root))
                        break;
                m = parent;
        }
        if (parent == m || !DENTRY_NAMED(mp, "shm"))
                return false;
        up = BPF_CORE_READ(mp, d_parent);
        if (up == BPF_CORE_READ(parent, mnt.mnt_root))
                up = BPF_CORE_READ(parent, mnt_mountpoint);
        return DENTRY_NAMED(up, "dev") || DENTRY_NAMED(up, "run");
}

/* The inode number of anonymous mount namespaces since 6.18; 0 before. */
#define FL_MNT_NS_ANON_INO 0xEFFFFFF7U

/* No path from any root reaches the file's mount: it was lazily unmounted
 * (mnt_ns cleared) or is an open_tree() clone (in an anonymous mount
 * namespace). */
static __always_inline bool mount_detached(struct file *file) {
        struct mnt_namespace *ns = BPF_CORE_READ(file_mount(file), mnt_ns);
        unsigned int inum;

        if (!ns)
                return true;
        inum = BPF_CORE_READ(ns, ns.inum);
        return inum == 0 || inum == FL_MNT_NS_ANON_INO;
}

/* overlayfs copies the link count of the real inode when it creates its own,
 * so a file removed from the upper layer behind the overlay's back still
 * shows 1. Judge the real one: in struct ovl_inode (fs/overlayfs/ovl_entry.h,
 * a module, so not in vmlinux BTF) the upper dentry directly follows the
 * embedded struct inode, in every kernel since 4.13. A pointer that does not
 * lead to a real, non-overlay inode is not trusted. */
static __always_inline bool overlay_upper_unlinked(struct inode *inode) {
        struct dentry *upper = NULL;
        struct inode *real;

        bpf_probe_read_kernel(&upper, sizeof(upper), (void *) inode + bpf_core_type_size(struct inode));
        if (!upper)
                return false;
        real = BPF_CORE_READ(upper, d_inode);
        if (!real || BPF_CORE_READ(real, i_sb, s_magic) == OVERLAYFS_SUPER_MAGIC ||
            BPF_CORE_READ(real, i_ino) == 0)
                return false;
        return BPF_CORE_READ(real, __i_nlink) == 0;
}

static __always_inline void classify(struct file *file, const struct fl_config *cfg, struct fl_file *ret) {
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        struct super_block *sb = BPF_CORE_READ(inode, i_sb);
        unsigned int nlink = BPF_CORE_READ(inode, __i_nlink);
        __u32 n_shm = cfg->n_shm_devs;

        ret->dentry = dentry;
        ret->ino = BPF_CORE_READ(inode, i_ino);
        ret->dev = BPF_CORE_READ(sb, s_dev);

        /* memfd_create() files (tmpfs or, with MFD_HUGETLB, hugetlbfs) live on a
         * kernel-internal mount behind a pseudo dentry that is its own parent
         * without being the root of its superblock. No path can name such a
         * file, so whatever its name says it is anonymous memory. */
        if (BPF_CORE_READ(dentry, d_parent) == dentry && BPF_CORE_READ(sb, s_root) != dentry) {
                ret->kind = FL_KIND_MEMFD;
                return;
        }

        if (nlink == 0 && name_is_tmpfile(BPF_CORE_READ(dentry, d_name.name), ret->ino)) {
                ret->kind = FL_KIND_TMPFILE;
                return;
        }

        /* POSIX shm objects, linked or not: the superblocks of the /dev/shm and
         * /run/shm mounts that user space found at start, and any tmpfs mounted
         * at such a place in another mount namespace; never a path string that
         * a bind mount or a symlink could fake. */
        for (int i = 0; i < FL_SHM_DEVS_MAX; i++)
                if (i < (int) n_shm && cfg->shm_devs[i] == ret->dev) {
                        ret->kind = FL_KIND_SHM;
                        return;
                }
        if (memory_fs(sb) && mounted_at_shm(file)) {
                ret->kind = FL_KIND_SHM;
                return;
        }

        if (nlink == 0 || (BPF_CORE_READ(sb, s_magic) == OVERLAYFS_SUPER_MAGIC && overlay_upper_unlinked(inode))) {
                ret->kind = FL_KIND_DELETED;
                return;
        }

        /* A tmpfs (or FUSE, or any file system) that an unprivileged user
         * mounted in a user namespace of their own: nothing on the host's
         * disks holds it. */
        if (BPF_CORE_READ(sb, s_user_ns, level) > 0) {
                ret->kind = FL_KIND_USERNS;
                return;
        }

        if (memory_fs(sb) && mount_detached(file)) {
                ret->kind = FL_KIND_DETACHED;
                return;
        }

        ret->kind = FL_KIND_ORDINARY;
}

static __always_inline unsigned int task_pidns_level(struct task_struct *task) {
        return BPF_CORE_READ(task, thread_pid, level);
}

/* The number and namespace of the task's pid as seen from its own (active) pid
 * namespace: pid->numbers[pid->level]. Not nsproxy->pid_ns_for_children, which
 * a task changes with unshare(CLONE_NEWPID) without itself moving. */
static __always_inline struct upid task_active_upid(struct task_struct *task) {
        struct pid *pid = BPF_CORE_READ(task, thread_pid);
        unsigned int level = BPF_CORE_READ(pid, level);
        struct upid *numbers = (void *) pid + bpf_core_field_offset(struct pid, numbers);
        struct upid up = {};

        /* MAX_PID_NS_LEVEL is 32. */
        bpf_probe_read_kernel(&up, sizeof(up), &numbers[level & 31]);
        return up;
}

/* The host side of the pid namespaces: the initial one, and the daemon's
 * own when the daemon runs in a container with its own systemd (whose
 * manager and runtimes are that container's host side, as the units its
 * scopes name are). Never a namespace below either. */
static __always_inline bool task_on_host_side(struct task_struct *task, const struct fl_config *cfg) {
        if (task_pidns_level(task) == 0)
                return true;
        return cfg->pidns_inum != 0 && BPF_CORE_READ(task_active_upid(task).ns, ns.inum) == cfg->pidns_inum;
}

/* Baseline: fileless execution is left to the host's own init, service
 * managers and container runtimes, i.e. to tasks on the host side.
 * Any value the daemon did not write (0, garbage) denies: fail closed. */
static __always_inline bool profile_allows(__u32 profile, struct task_struct *task, const struct fl_config *cfg) {
        switch (profile) {
        case FL_PROFILE_ALLOW:
                return true;
        case FL_PROFILE_BASELINE:
                return task_on_host_side(task, cfg);
        default:
                return false;
        }
}

#define SCOPE_DEPTH_MAX 16
#define CGROUP_ROOT_DEPTH_MAX 32

static __always_inline bool name_is_slice(const char *name, int len) {
        /* LEN counts the NUL, as bpf_probe_read_kernel_str() returns it; the
         * mask (FL_UNIT_LEN is a power of two) bounds the index for the
         * verifier. */
        __u32 i;

        if (len < 8 || len > FL_UNIT_LEN)
                return false;
        i = (__u32) (len - 7) & (FL_UNIT_LEN - 1);
        if (i > FL_UNIT_LEN - 7)
                return false;
        return name[i] == '.' && name[i + 1] == 's' && name[i + 2] == 'l' && name[i + 3] == 'i' &&
               name[i + 4] == 'c' && name[i + 5] == 'e';
}

static __always_inline struct cgroup *cgroup_ancestor(struct cgroup *cg, unsigned long off, int level) {
        struct cgroup *a = NULL;

        bpf_probe_read_kernel(&a, sizeof(a), (void *) cg + off + level * sizeof(a));
        return a;
}

/* The level of the root of the daemon's cgroup namespace above CG, or -1
 * when CG is not below it. A systemd in a container (or any daemon in a
 * cgroup namespace) lays its units out below that root, not below the
 * kernel's: matching from the kernel's root would never find them. */
static __always_inline int cgroup_base_level(struct cgroup *cg, unsigned long off, int level, __u64 root_id) {
        if (root_id == 0)
                return 0;
        for (int i = 0; i <= CGROUP_ROOT_DEPTH_MAX && i <= level; i++)
                if (BPF_CORE_READ(cgroup_ancestor(cg, off, i), kn, id) == root_id)
                        return i;
        return -1;
}

/* The scope of the nearest unit or slice above TASK's cgroup that has one.
 * systemd's layout is read from the cgroup tree itself, at the moment of the
 * exec: the chain of slices below the root of the daemon's cgroup namespace,
 * then one unit; anything below the unit is the unit's own (a delegated
 * subtree, a user's service manager) and never a scope, whatever it is
 * called. So a unit started or restarted later, in a new cgroup, is under
 * its scope from its first instruction. *RET_UNIT is the kernel's copy of
 * the name of the cgroup where the walk ended below the slices (the unit),
 * NULL if none. */
static __always_inline const struct fl_scope *scope_find(struct task_struct *task, const struct fl_config *cfg,
                                                         const char **ret_unit) {
        struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
        unsigned long off = bpf_core_field_offset(struct cgroup, ancestors);
        int level = BPF_CORE_READ(cg, level), base;
        const struct fl_scope *best = NULL, *s;
        struct fl_scope_key *k;
        __u32 zero = 0;

        *ret_unit = NULL;
        base = cgroup_base_level(cg, off, level, cfg->cgroup_root_id);
        if (base < 0)
                return NULL;
        k = bpf_map_lookup_elem(&fl_scratch, &zero);
        if (!k)
                return NULL;
        for (int i = 1; i <= SCOPE_DEPTH_MAX && base + i <= level; i++) {
                const char *name = BPF_CORE_READ(cgroup_ancestor(cg, off, base + i), kn, name);
                int n;

                __builtin_memset(k, 0, sizeof(*k));
                n = bpf_probe_read_kernel_str(k->name, sizeof(k->name), name);
                if (n <= 1)
                        break;
                s = bpf_map_lookup_elem(&fl_scopes, k);
                if (s)
                        best = s;
                if (!name_is_slice(k->name, n)) {
                        *ret_unit = name;
                        break;
                }
        }
        return best;
}

struct fl_verdict {
        __u32 profile;  /* the profile that decided */
        __u32 scope_id; /* its scope, 0 for the machine-wide profile */
        const char *unit; /* kernel memory: the task's unit cgroup's name, or NULL */
        bool trusted;   /* the task's executable is a trusted one */
        bool stop;      /* the backend stops it */
};

/* The acting task's own executable (its identity and where it is named),
 * and who ran it. */
struct fl_exe {
        __u64 dev;
        __u64 inode;
        __u64 dir_inode;
        const char *name; /* kernel or map memory; NULL when unknown */
        __u32 uid;        /* real and effective user ids (global); FL_UID_UNKNOWN when unknown */
        __u32 euid;
};

#define FL_UID_UNKNOWN 0xffffffffU

static __always_inline struct fl_exe exe_of(struct file *exe) {
        struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);

        return (struct fl_exe) {
                .dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev),
                .inode = BPF_CORE_READ(exe, f_inode, i_ino),
                .dir_inode = BPF_CORE_READ(d, d_parent, d_inode, i_ino),
                .name = (const char *) BPF_CORE_READ(d, d_name.name),
                .uid = FL_UID_UNKNOWN,
                .euid = FL_UID_UNKNOWN,
        };
}

/* TASK's own executable and its real and effective user ids now. */
static __always_inline struct fl_exe actor_of(struct task_struct *task) {
        struct fl_exe exe = exe_of(BPF_CORE_READ(task, mm, exe_file));

        exe.uid = BPF_CORE_READ(task, cred, uid.val);
        exe.euid = BPF_CORE_READ(task, cred, euid.val);
        return exe;
}

/* Is EXE the trusted file, under the name it was trusted by? A hard link in
 * another directory or under another name is the same inode, not the same
 * trust. */
static __always_inline bool exe_trusted(const struct fl_exe *exe) {
        struct fl_exe_key key = { .dev = exe->dev, .inode = exe->inode };
        const struct fl_exe_where *w;
        struct fl_scope_key *name;
        __u32 zero = 0;

        if (exe->inode == 0 || !exe->name)
                return false;
        w = bpf_map_lookup_elem(&fl_trusted, &key);
        if (!w || w->dir_inode != exe->dir_inode)
                return false;
        name = bpf_map_lookup_elem(&fl_scratch, &zero);
        if (!name)
                return false;
        __builtin_memset(name, 0, sizeof(*name));
        if (bpf_probe_read_kernel_str(name->name, sizeof(name->name), exe->name) <= 0)
                return false;
        for (int i = 0; i < FL_NAME_LEN && i < FL_UNIT_LEN; i++) {
                if (name->name[i] != w->name[i])
                        return false;
                if (name->name[i] == 0)
                        return true;
        }
        return false;
}

/* Trust is for the trusted program as installed, run by root: its process
 * must run as root (real and effective uid 0: a user's process, such as a
 * rootless runtime's, could have been made to run anything), must not be
 * under ptrace now (a tracer can make it run anything), and its image must
 * have been started without an ld.so variable (LD_PRELOAD and the like load
 * foreign code into it before its first own instruction): its mark says so,
 * for this very image. Anything unknown: not trusted. */
static __always_inline bool trust_holds(struct task_struct *task, const struct fl_config *cfg,
                                        const struct fl_exe *exe) {
        const struct fl_mark *m;

        if (!task_on_host_side(task, cfg) || exe->uid != 0 || exe->euid != 0 || BPF_CORE_READ(task, ptrace) != 0)
                return false;
        m = bpf_task_storage_get(&fl_trust_marks, task, NULL, 0);
        if (!m || m->clean != 1 || m->dev != exe->dev || m->inode != exe->inode)
                return false;
        return exe_trusted(exe);
}

static __always_inline struct fl_verdict decide(struct task_struct *task, const struct fl_config *cfg,
                                                const struct fl_exe *exe) {
        struct fl_verdict v = { .profile = cfg->profile };
        const struct fl_scope *s = scope_find(task, cfg, &v.unit);

        if (s) {
                v.profile = s->profile;
                v.scope_id = s->id;
        }
        /* Trust stays on the host side: a container runtime's process that
         * has entered a container's pid namespace (runc init about to exec the
         * container's program, or one a user asked "exec" for) is judged like
         * any other. */
        v.trusted = trust_holds(task, cfg, exe);
        v.stop = !v.trusted && !profile_allows(v.profile, task, cfg);
        return v;
}

static __always_inline struct fl_verdict decide_current(struct task_struct *task, const struct fl_config *cfg) {
        struct fl_exe exe = actor_of(task);

        return decide(task, cfg, &exe);
}

/* The environment of a new image, as ld.so will read it: the envp array the
 * kernel wrote above argc and argv at the top of the new stack, each entry
 * pointing into the area it copied the strings to. Read before the image's
 * first instruction, so nothing has changed it yet. */
#define FL_ENV_MAX 65536

struct env_scan {
        __u64 envp;     /* user address of envp[0] */
        __u64 lo, hi;   /* the strings' area, [env_start, env_end) */
        __u32 bad;      /* an ld.so variable, or something unreadable */
};

/* The variables that make ld.so or libc load code of the caller's choice:
 * ld.so's own (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH and every other LD_*),
 * and glibc's iconv modules (GCONV_PATH). */
static __always_inline bool loader_variable(const char *v) {
        static const char gconv[] = "GCONV_PATH=";

        if (v[0] == 'L' && v[1] == 'D' && v[2] == '_')
                return true;
        for (int i = 0; i < (int) sizeof(gconv) - 1; i++)
                if (v[i] != gconv[i])
                        return false;
        return true;
}

static long env_check_one(__u64 i, void *ctx) {
        struct env_scan *s = ctx;
        char v[16] = {};
        __u64 p = 0;

        if (bpf_probe_read_user(&p, sizeof(p), (void *) (s->envp + i * sizeof(p))) < 0 || p < s->lo || p >= s->hi ||
            bpf_probe_read_user_str(v, sizeof(v), (void *) p) < 1 || loader_variable(v)) {
                s->bad = 1;
                return 1;
        }
        return 0;
}

/* Was TASK's new image started without any loader variable? Anything that
 * cannot be read, or does not look as the kernel lays it out, is a no. */
static __always_inline bool image_env_clean(struct task_struct *task, struct linux_binprm *bprm) {
        struct mm_struct *mm = BPF_CORE_READ(task, mm);
        __u64 sp = BPF_CORE_READ(mm, start_stack), argc = 0, end = 1;
        int envc = BPF_CORE_READ(bprm, envc);
        struct env_scan s = {
                .lo = BPF_CORE_READ(mm, env_start),
                .hi = BPF_CORE_READ(mm, env_end),
        };

        if (envc < 0 || envc > FL_ENV_MAX)
                return false;
        /* sp: argc, argv[argc], NULL, envp[envc], NULL */
        if (bpf_probe_read_user(&argc, sizeof(argc), (void *) sp) < 0 || argc != (__u64) BPF_CORE_READ(bprm, argc) ||
            argc > FL_ENV_MAX)
                return false;
        s.envp = sp + (argc + 2) * sizeof(__u64);
        if (bpf_probe_read_user(&end, sizeof(end), (void *) (s.envp + envc * sizeof(__u64))) < 0 || end != 0)
                return false;
        if (envc > 0)
                bpf_loop(envc, env_check_one, &s, 0);
        return !s.bad;
}

/* At every exec, once the new image is set up: the mark of TASK's new image.
 * Only a trusted executable's image needs one (the environment is read only
 * then); any other exec removes the old image's. */
static __always_inline void mark_exec(struct task_struct *task, struct linux_binprm *bprm) {
        struct fl_exe exe = exe_of(BPF_CORE_READ(task, mm, exe_file));
        struct fl_mark *m;

        if (!exe_trusted(&exe)) {
                bpf_task_storage_delete(&fl_trust_marks, task);
                return;
        }
        m = bpf_task_storage_get(&fl_trust_marks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (!m)
                return;
        m->clean = 0;
        m->dev = exe.dev;
        m->inode = exe.inode;
        m->clean = image_env_clean(task, bprm) ? 1 : 0;
}

/* A child (process or thread) runs its parent's image: it gets its mark.
 * This tracepoint fires before the child runs at all. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(fl_fork_mark, struct task_struct *parent, struct task_struct *child) {
        struct fl_mark *m, *c;

        m = bpf_task_storage_get(&fl_trust_marks, parent, NULL, 0);
        if (!m)
                return 0;
        c = bpf_task_storage_get(&fl_trust_marks, child, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (c)
                *c = *m;
        return 0;
}

/* The action of an event: what the verdict let happen, or STOPPED. */
static __always_inline __u32 verdict_action(const struct fl_verdict *v, __u32 stopped) {
        return v->stop ? stopped : v->trusted ? FL_ACTION_TRUSTED : FL_ACTION_ALLOWED;
}

/* What the tracepoint backend remembers of a task from before its exec: by
 * sched_process_exec the kernel has renamed the task after the new image and
 * replaced its executable. */
struct fl_task {
        __u32 known;       /* FL_TASK_* */
        __u32 script_kind; /* the #! script found on the way, if FL_TASK_SCRIPT */
        __u64 exe_inode;
        __u64 exe_dev;
        __u64 exe_dir_inode;
        __u32 uid;         /* real and effective uid before the exec, with FL_TASK_EXE */
        __u32 euid;
        __u64 script_inode;
        __u64 script_dev;
        __u64 mapping;     /* an mmap() judged on entry: not judged again on exit */
        char comm[FL_COMM_LEN];
        char program[FL_PROGRAM_LEN]; /* the executable's name, cut (so a longer one is never trusted here) */
        char script_name[FL_NAME_LEN];
};

#define FL_TASK_COMM 0x1U
#define FL_TASK_EXE 0x2U
#define FL_TASK_SCRIPT 0x4U

/* The event, and the counters. PATH is the path given to exec (NULL for a
 * mapping). RENAMED: the task already is the new image (the tracepoint
 * backend's exec), and PRE, if not NULL, is what was known of it before. */
static __always_inline void report(struct task_struct *task, const char *path, const struct fl_file *f,
                                   const struct fl_verdict *v, __u32 backend, __u32 op, __u32 action, __u32 flags,
                                   bool renamed, const struct fl_task *pre) {
        struct dentry *dentry = f->dentry;
        struct file *exe = BPF_CORE_READ(task, mm, exe_file);
        struct task_struct *parent;
        struct fl_event *e;
        struct upid up;
        __u64 ug;

        stat_inc(FL_STAT_FILELESS);
        if (action == FL_ACTION_DENIED || action == FL_ACTION_KILLED)
                stat_inc(FL_STAT_BLOCKED);

        e = bpf_ringbuf_reserve(&fl_events, sizeof(*e), 0);
        if (!e) {
                stat_inc(FL_STAT_LOST);
                return;
        }
        __builtin_memset(e, 0, sizeof(*e));

        up = task_active_upid(task);
        parent = BPF_CORE_READ(task, real_parent);
        ug = bpf_get_current_uid_gid();

        e->boot_ns = bpf_ktime_get_boot_ns();
        e->inode = f->ino;
        e->dev = f->dev;
        e->cgroup_id = bpf_get_current_cgroup_id();
        e->pidns = BPF_CORE_READ(up.ns, ns.inum);
        e->pidns_level = task_pidns_level(task);
        e->pid = BPF_CORE_READ(task, tgid);
        e->ppid = BPF_CORE_READ(parent, tgid);
        e->uid = (__u32) ug;
        e->gid = (__u32) (ug >> 32);
        e->flags = flags;
        e->kind = f->kind;
        e->action = action;
        e->profile = v->profile;
        e->scope_id = v->scope_id;
        e->backend = backend;
        e->op = op;
        if (renamed) {
                if (pre && (pre->known & FL_TASK_EXE)) {
                        e->prog_inode = pre->exe_inode;
                        e->prog_dev = pre->exe_dev;
                        __builtin_memcpy(e->program, pre->program, sizeof(e->program));
                }
        } else {
                e->prog_inode = BPF_CORE_READ(exe, f_inode, i_ino);
                e->prog_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
                bpf_probe_read_kernel_str(e->program, sizeof(e->program),
                                          BPF_CORE_READ(exe, f_path.dentry, d_name.name));
        }
        if (renamed) {
                if (pre && (pre->known & FL_TASK_COMM))
                        __builtin_memcpy(e->comm, pre->comm, sizeof(e->comm));
                bpf_get_current_comm(e->exec_comm, sizeof(e->exec_comm));
        } else
                bpf_get_current_comm(e->comm, sizeof(e->comm));
        BPF_CORE_READ_STR_INTO(&e->parent_comm, parent, comm);
        if (dentry)
                bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(dentry, d_name.name));
        else if (pre && (pre->known & FL_TASK_SCRIPT))
                __builtin_memcpy(e->name, pre->script_name, sizeof(e->name));
        if (path)
                bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
        if (v->unit)
                bpf_probe_read_kernel_str(e->unit, sizeof(e->unit), v->unit);

        bpf_ringbuf_submit(e, 0);
}
