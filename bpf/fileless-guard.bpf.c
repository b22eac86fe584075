// SPDX-License-Identifier: GPL-2.0-only
/* Sealed mode: the guard programs, built twice like fileless-security.bpf.c
 * ("lsm" on the BPF LSM's hooks, "fmod_ret" with -DFL_FMOD_RET on the
 * security_*() functions), and fl_seal_ctl, the only writer of the profile
 * and scopes once the maps are frozen. The guard is loaded only at seal and
 * is inert before its state map says sealed; on the tracepoint backend only
 * the maps and fl_seal_ctl are loaded (nothing there can deny).
 *
 * The maps of fileless-common.bpf.h are the enforcement object's own: the
 * daemon hands their fds to this object before loading it. */

#include "fileless-common.bpf.h"
#include "fileless-guard.h"

#define ENOENT 2
#define EINVAL 22
#define PTRACE_MODE_ATTACH 0x02
#define SIGHUP 1

/* key: 0; value: struct fl_guard_state, frozen at seal. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, struct fl_guard_state);
} fl_guard SEC(".maps");

/* key: 0; value: attempts refused, only ever incremented by BPF (the map is
 * frozen on the syscall side). */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u64);
} fl_tamper_stats SEC(".maps");

/* struct fl_tamper_event records, apart from fl_events so that a flood of
 * execs cannot crowd them out. */
struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 64 * 1024);
} fl_tamper SEC(".maps");

static __always_inline const struct fl_guard_state *sealed_state(void) {
        const struct fl_guard_state *g;
        __u32 zero = 0;

        g = bpf_map_lookup_elem(&fl_guard, &zero);
        return g && g->sealed ? g : NULL;
}

static __always_inline bool id_in(const __u32 *ids, __u32 n, __u32 id) {
        for (int i = 0; i < FL_GUARD_IDS_MAX; i++)
                if (i < (int) n && ids[i] == id)
                        return true;
        return false;
}

/* One record and one count per refusal; returns the refusal. */
static __always_inline int refuse(__u32 op, __u64 target, __u32 detail) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fl_tamper_event *e;
        __u32 zero = 0;
        __u64 *n;

        n = bpf_map_lookup_elem(&fl_tamper_stats, &zero);
        if (n)
                __sync_fetch_and_add(n, 1);
        e = bpf_ringbuf_reserve(&fl_tamper, sizeof(*e), 0);
        if (e) {
                __builtin_memset(e, 0, sizeof(*e));
                e->boot_ns = bpf_ktime_get_boot_ns();
                e->target = target;
                e->cgroup_id = bpf_get_current_cgroup_id();
                e->op = op;
                e->detail = detail;
                e->pid = BPF_CORE_READ(task, tgid);
                e->uid = (__u32) bpf_get_current_uid_gid();
                bpf_get_current_comm(e->comm, sizeof(e->comm));
                bpf_ringbuf_submit(e, 0);
        }
        return -EPERM;
}

#ifdef FL_FMOD_RET
#define FL_GUARD(lsm_hook, security_fn) SEC("fmod_ret/" #security_fn)
#else
#define FL_GUARD(lsm_hook, security_fn) SEC("lsm/" #lsm_hook)
#endif

/* Every new fd of a map: BPF_OBJ_GET of a pin, BPF_MAP_GET_FD_BY_ID. Any
 * mode is refused for the protected maps, a read-only one too: a program
 * loaded with a read-only fd may still write the map (the verifier does not
 * look at the fd's mode), and fl_config must stay writable by fl_seal_ctl.
 * The ring buffers are not protected: their reader needs a writable fd. */
FL_GUARD(bpf_map, security_bpf_map)
int BPF_PROG(fl_guard_map, struct bpf_map *map, unsigned int fmode, int ret) {
        const struct fl_guard_state *g;
        __u32 id;

        if (ret != 0)
                return ret;
        g = sealed_state();
        if (!g)
                return 0;
        id = BPF_CORE_READ(map, id);
        if (id_in(g->map_ids, g->n_map_ids, id))
                return refuse(FL_TAMPER_MAP_FD, id, fmode);
        return 0;
}

/* Every new fd of a program: a prog fd is what freplace and fentry on our
 * programs need. fl_seal_ctl is not in the list: it can only tighten. */
FL_GUARD(bpf_prog, security_bpf_prog)
int BPF_PROG(fl_guard_prog, struct bpf_prog *prog, int ret) {
        const struct fl_guard_state *g;
        __u32 id;

        if (ret != 0)
                return ret;
        g = sealed_state();
        if (!g)
                return 0;
        id = BPF_CORE_READ(prog, aux, id);
        if (id_in(g->prog_ids, g->n_prog_ids, id))
                return refuse(FL_TAMPER_PROG_FD, id, 0);
        return 0;
}

/* The map behind descriptor FD of the current task, or NULL. The kernel
 * resolves the fd again after us, so a thread that swaps it meanwhile gets
 * past this check: the freeze still refuses the write; this is for the log. */
static __always_inline struct bpf_map *fd_map(int fd) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
        struct file **fds = BPF_CORE_READ(fdt, fd);
        struct file *file = NULL;
        char name[8] = {};

        if (fd < 0 || (unsigned int) fd >= BPF_CORE_READ(fdt, max_fds))
                return NULL;
        bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
        if (!file)
                return NULL;
        /* The anonymous inode's name tells a map from anything else. */
        bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
        if (name[0] != 'b' || name[1] != 'p' || name[2] != 'f' || name[3] != '-' || name[4] != 'm' ||
            name[5] != 'a' || name[6] != 'p')
                return NULL;
        return BPF_CORE_READ(file, private_data);
}

/* bpf(2) by command: link fds by id (links have no object hook), and writes
 * through a map fd a process already had. BPF_MAP_FREEZE passes: the
 * guarded maps are frozen already, and the daemon freezes the state map
 * itself after writing it. Declared without the hook's
 * return: 6.15 added a trailing argument, which would move it. This program
 * runs only while the ones before it allowed. */
FL_GUARD(bpf, security_bpf)
int BPF_PROG(fl_guard_bpf, int cmd, union bpf_attr *attr) {
        const struct fl_guard_state *g = sealed_state();
        struct bpf_map *map;
        __u32 id;

        if (!g)
                return 0;
        switch (cmd) {
        case BPF_LINK_GET_FD_BY_ID:
                id = BPF_CORE_READ(attr, link_id);
                if (id_in(g->link_ids, g->n_link_ids, id))
                        return refuse(FL_TAMPER_LINK_FD, id, cmd);
                return 0;
        case BPF_MAP_UPDATE_ELEM:
        case BPF_MAP_DELETE_ELEM:
        case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
                map = fd_map(BPF_CORE_READ(attr, map_fd));
                break;
        case BPF_MAP_UPDATE_BATCH:
        case BPF_MAP_DELETE_BATCH:
        case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
                map = fd_map(BPF_CORE_READ(attr, batch.map_fd));
                break;
        default:
                return 0;
        }
        if (!map)
                return 0;
        id = BPF_CORE_READ(map, id);
        if (id_in(g->map_ids, g->n_map_ids, id))
                return refuse(FL_TAMPER_MAP_WRITE, id, cmd);
        return 0;
}

static __always_inline bool ino_in(const struct fl_guard_state *g, __u64 ino) {
        for (int i = 0; i < FL_GUARD_INOS_MAX; i++)
                if (i < (int) g->n_inos && g->inos[i] == ino)
                        return true;
        return false;
}

/* An entry of the pin directory (DIR is it), or the pin directory or one of
 * its ancestors on our bpffs. */
static __always_inline bool ours(const struct fl_guard_state *g, struct inode *dir, struct dentry *dentry) {
        struct inode *inode = BPF_CORE_READ(dentry, d_inode);

        if (BPF_CORE_READ(dir, i_sb, s_dev) != g->bpffs_dev)
                return false;
        if (g->n_inos > 0 && BPF_CORE_READ(dir, i_ino) == g->inos[0])
                return true;
        return inode && ino_in(g, BPF_CORE_READ(inode, i_ino));
}

static __always_inline int guard_remove(struct inode *dir, struct dentry *dentry, __u32 op) {
        const struct fl_guard_state *g = sealed_state();
        struct inode *inode;

        if (!g || !ours(g, dir, dentry))
                return 0;
        inode = BPF_CORE_READ(dentry, d_inode);
        return refuse(op, inode ? BPF_CORE_READ(inode, i_ino) : 0, 0);
}

FL_GUARD(inode_unlink, security_inode_unlink)
int BPF_PROG(fl_guard_unlink, struct inode *dir, struct dentry *dentry, int ret) {
        if (ret != 0)
                return ret;
        return guard_remove(dir, dentry, FL_TAMPER_UNLINK);
}

FL_GUARD(inode_rmdir, security_inode_rmdir)
int BPF_PROG(fl_guard_rmdir, struct inode *dir, struct dentry *dentry, int ret) {
        if (ret != 0)
                return ret;
        return guard_remove(dir, dentry, FL_TAMPER_RMDIR);
}

/* Out of our directory, into it, over a pin, or of the directory itself.
 * Declared without the return: the LSM hook has four arguments and
 * security_inode_rename() five. */
FL_GUARD(inode_rename, security_inode_rename)
int BPF_PROG(fl_guard_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
             struct dentry *new_dentry) {
        const struct fl_guard_state *g = sealed_state();

        if (!g)
                return 0;
        if (ours(g, old_dir, old_dentry) || ours(g, new_dir, new_dentry))
                return guard_remove(old_dir, old_dentry, FL_TAMPER_RENAME) ?:
                       refuse(FL_TAMPER_RENAME, BPF_CORE_READ(new_dir, i_ino), 0);
        return 0;
}

/* The last unmount of a bpffs drops every pin on it. PID 1 is not exempt:
 * "systemctl stop sys-fs-bpf.mount" would be the way around. */
FL_GUARD(sb_umount, security_sb_umount)
int BPF_PROG(fl_guard_umount, struct vfsmount *mnt, int flags, int ret) {
        const struct fl_guard_state *g;
        __u64 dev;

        if (ret != 0)
                return ret;
        g = sealed_state();
        if (!g)
                return 0;
        dev = BPF_CORE_READ(mnt, mnt_sb, s_dev);
        return dev == g->bpffs_dev ? refuse(FL_TAMPER_UMOUNT, dev, flags) : 0;
}

/* The daemon is known by its executable, so a restarted one is protected
 * too (a copy of it elsewhere is another file). Its identity is the
 * kernel's own view, recorded by fl_seal_ctl for the sealing daemon: what
 * stat() says can differ (overlayfs reports another inode number). */
static __always_inline struct inode *exe_inode(struct task_struct *p) {
        return BPF_CORE_READ(p, mm, exe_file, f_inode);
}

static __always_inline bool is_daemon(const struct fl_guard_state *g, struct task_struct *p) {
        struct inode *exe = exe_inode(p);

        return exe && BPF_CORE_READ(exe, i_ino) == g->daemon_inode &&
               BPF_CORE_READ(exe, i_sb, s_dev) == g->daemon_dev;
}

/* Only from user space (kill, tgkill, pidfd_send_signal, sigqueue); the
 * service manager may stop it, and signal 0 only probes. INFO can be one of
 * the kernel's small constants: never read. */
FL_GUARD(task_kill, security_task_kill)
int BPF_PROG(fl_guard_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
             const struct cred *cred, int ret) {
        const struct fl_guard_state *g;
        __u32 self = bpf_get_current_pid_tgid() >> 32, target;

        if (ret != 0)
                return ret;
        g = sealed_state();
        /* SIGHUP only reloads, and a reload can only tighten. */
        if (!g || sig == 0 || sig == SIGHUP || self == 1)
                return 0;
        target = BPF_CORE_READ(p, tgid);
        if (target == self || !is_daemon(g, p))
                return 0;
        return refuse(FL_TAMPER_KILL, target, sig);
}

/* ptrace attach, /proc/PID/mem, process_vm_writev, pidfd_getfd; reading
 * /proc/PID/status stays allowed. The daemon's own threads never get here. */
FL_GUARD(ptrace_access_check, security_ptrace_access_check)
int BPF_PROG(fl_guard_ptrace, struct task_struct *child, unsigned int mode, int ret) {
        const struct fl_guard_state *g;

        if (ret != 0)
                return ret;
        g = sealed_state();
        if (!g || !(mode & PTRACE_MODE_ATTACH) || (bpf_get_current_pid_tgid() >> 32) == 1 ||
            !is_daemon(g, child))
                return 0;
        return refuse(FL_TAMPER_PTRACE, BPF_CORE_READ(child, tgid), mode);
}

/* A counter of the maps frozen on the syscall side, read through here. */
static __always_inline __u64 stat_get(void *map, __u32 key) {
        __u64 *v = bpf_map_lookup_elem(map, &key);

        return v ? *v : 0;
}

/* Copies CTX's name into the scratch key: map helpers take no ctx memory. */
static __always_inline struct fl_scope_key *ctl_key(const struct fl_seal_ctl *ctx) {
        struct fl_scope_key *k;
        __u32 zero = 0;

        k = bpf_map_lookup_elem(&fl_scratch, &zero);
        if (k)
                __builtin_memcpy(k->name, ctx->name, sizeof(k->name));
        return k;
}

struct scope_walk {
        __u32 profile; /* the highest profile of any scope */
        __u32 max_id;  /* the highest id of any scope */
        __u32 id;      /* SCOPE_NAME: the wanted id, its name left in fl_scratch */
        bool found;
};

static long scope_max(void *map, struct fl_scope_key *key, struct fl_scope *s, struct scope_walk *w) {
        if (s->profile > w->profile)
                w->profile = s->profile;
        if (s->id > w->max_id)
                w->max_id = s->id;
        return 0;
}

static long scope_by_id(void *map, struct fl_scope_key *key, struct fl_scope *s, struct scope_walk *w) {
        struct fl_scope_key *k;
        __u32 zero = 0;

        if (s->id != w->id)
                return 0;
        k = bpf_map_lookup_elem(&fl_scratch, &zero);
        if (k) {
                __builtin_memcpy(k->name, key->name, sizeof(k->name));
                w->found = true;
        }
        return 1;
}

/* Unit scopes while sealed: a scope is raised, never lowered or removed;
 * a new one must be at least the machine's profile and every scope's, since
 * which scopes are above the unit in the cgroup tree (and would otherwise
 * decide for it) is not known here. */
static __always_inline int ctl_scope_set(struct fl_seal_ctl *ctx, const struct fl_config *cfg) {
        struct scope_walk w = {};
        struct fl_scope_key *k = ctl_key(ctx);
        struct fl_scope *s, v;

        if (!k || ctx->profile < FL_PROFILE_ALLOW || ctx->profile >= _FL_PROFILE_MAX || ctx->id == 0)
                return -EINVAL;
        s = bpf_map_lookup_elem(&fl_scopes, k);
        if (s) {
                if (ctx->profile < s->profile)
                        return -EPERM;
                s->profile = ctx->profile;
                return 0;
        }
        bpf_for_each_map_elem(&fl_scopes, scope_max, &w, 0);
        if (ctx->profile < cfg->profile || ctx->profile < w.profile)
                return -EPERM;
        v = (struct fl_scope) { .profile = ctx->profile, .id = ctx->id };
        return bpf_map_update_elem(&fl_scopes, k, &v, BPF_NOEXIST);
}

/* Run with BPF_PROG_TEST_RUN by whoever holds its fd (the pin is not
 * guarded): it reads, and it tightens, nothing else. */
SEC("syscall")
int fl_seal_ctl(struct fl_seal_ctl *ctx) {
        struct fl_guard_state *g;
        struct inode *exe;
        struct fl_config *cfg;
        struct fl_scope_key *k;
        struct fl_scope *s;
        struct scope_walk w = {};
        __u32 zero = 0;

        cfg = bpf_map_lookup_elem(&fl_config, &zero);
        g = bpf_map_lookup_elem(&fl_guard, &zero);
        if (!cfg || !g)
                return -EINVAL;

        switch (ctx->op) {
        case FL_SEAL_CTL_QUERY:
                ctx->profile = cfg->profile;
                ctx->backend = cfg->backend;
                ctx->sealed = g->sealed;
                ctx->level = g->level;
                ctx->stats[FL_STAT_FILELESS] = stat_get(&fl_stats, FL_STAT_FILELESS);
                ctx->stats[FL_STAT_BLOCKED] = stat_get(&fl_stats, FL_STAT_BLOCKED);
                ctx->stats[FL_STAT_LOST] = stat_get(&fl_stats, FL_STAT_LOST);
                ctx->tampered = stat_get(&fl_tamper_stats, 0);
                bpf_for_each_map_elem(&fl_scopes, scope_max, &w, 0);
                ctx->id = w.max_id;
                return 0;
        case FL_SEAL_CTL_PROFILE:
                if (ctx->profile < FL_PROFILE_ALLOW || ctx->profile >= _FL_PROFILE_MAX)
                        return -EINVAL;
                if (ctx->profile < cfg->profile)
                        return -EPERM;
                cfg->profile = ctx->profile;
                return 0;
        case FL_SEAL_CTL_SCOPE_GET:
                k = ctl_key(ctx);
                if (!k)
                        return -EINVAL;
                s = bpf_map_lookup_elem(&fl_scopes, k);
                ctx->profile = s ? s->profile : 0;
                ctx->id = s ? s->id : 0;
                return 0;
        case FL_SEAL_CTL_SCOPE_SET:
                return ctl_scope_set(ctx, cfg);
        case FL_SEAL_CTL_REGISTER:
                /* Once: the sealing daemon, right after it froze the state. */
                exe = exe_inode(bpf_get_current_task_btf());
                if (!g->sealed || g->daemon_inode != 0 || !exe)
                        return -EPERM;
                g->daemon_dev = BPF_CORE_READ(exe, i_sb, s_dev);
                g->daemon_inode = BPF_CORE_READ(exe, i_ino);
                return 0;
        case FL_SEAL_CTL_SCOPE_NAME:
                w.id = ctx->id;
                bpf_for_each_map_elem(&fl_scopes, scope_by_id, &w, 0);
                k = bpf_map_lookup_elem(&fl_scratch, &zero);
                if (!w.found || !k)
                        return -ENOENT;
                __builtin_memcpy(ctx->name, k->name, sizeof(ctx->name));
                return 0;
        default:
                return -EINVAL;
        }
}
