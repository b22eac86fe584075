// SPDX-License-Identifier: GPL-2.0-only
/* Backend "tracepoint": for kernels without the BPF LSM. sched_process_exec
 * fires after the point of no return but before the new image runs a single
 * user-space instruction; SIGKILL sent here is fatal before that. */

#include "fileless-common.bpf.h"

#define FDPATH_MAX 64 /* a power of two: indexes are masked with FDPATH_MAX - 1 */

/* Reads decimal digits at s[*i], at most 10. Returns false on none or overflow. */
static __always_inline bool parse_uint(const char *s, int *i, __u32 *ret) {
        __u64 v = 0;
        int n;

        for (n = 0; n < 10; n++) {
                char c = s[(*i + n) & (FDPATH_MAX - 1)];

                if (c < '0' || c > '9')
                        break;
                v = v * 10 + (c - '0');
        }
        if (n == 0 || v > 0x7fffffff)
                return false;
        *i += n;
        *ret = v;
        return true;
}

static __always_inline bool skip_literal(const char *s, int *i, const char *lit, int len) {
        for (int n = 0; n < len; n++)
                if (s[(*i + n) & (FDPATH_MAX - 1)] != lit[n])
                        return false;
        *i += len;
        return true;
}

#define SKIP(s, i, lit) skip_literal((s), (i), (lit), sizeof(lit) - 1)

/* Parses the exec path forms the kernel accepts for a script held in an fd:
 * /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N and /proc/PID/fd/N.
 * *ret_pid is 0 for the exec'ing process itself. */
static __always_inline bool parse_fd_path(const char *s, __u32 *ret_pid, __u32 *ret_fd) {
        int i = 0;

        *ret_pid = 0;
        if (!SKIP(s, &i, "/dev/fd/")) {
                if (!SKIP(s, &i, "/proc/"))
                        return false;
                if (!SKIP(s, &i, "self/") && !SKIP(s, &i, "thread-self/")) {
                        if (!parse_uint(s, &i, ret_pid) || !SKIP(s, &i, "/"))
                                return false;
                }
                if (!SKIP(s, &i, "fd/"))
                        return false;
        }
        return parse_uint(s, &i, ret_fd) && s[i & (FDPATH_MAX - 1)] == 0;
}

static __always_inline struct file *task_fd_file(struct task_struct *task, __u32 fd) {
        struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
        struct file **fds;
        struct file *f = NULL;

        if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
                return NULL;
        fds = BPF_CORE_READ(fdt, fd);
        bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
        return f;
}

extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

/* At this tracepoint bprm->file is the interpreter of a #! script: the script
 * file itself has already been put. A script can only be run from an fd
 * through an fd path (the kernel refuses close-on-exec fds for scripts), so
 * the path names the fd, in our own new image's table or, for
 * /proc/PID/fd/N, in another live process's. */
static __always_inline struct file *script_file(struct task_struct *task, const char *path) {
        struct task_struct *other;
        struct file *f;
        __u32 pid, fd;

        if (!parse_fd_path(path, &pid, &fd))
                return NULL;
        if (pid == 0 || pid == (__u32) task_active_upid(task).nr)
                return task_fd_file(task, fd);

        /* The pid is in the procfs instance's namespace; we take it as the exec'ing
         * task's, which is what /proc shows to it unless it mounted another. */
        if (!bpf_task_from_vpid || !bpf_task_release)
                return NULL;
        other = bpf_task_from_vpid(pid);
        if (!other)
                return NULL;
        f = task_fd_file(other, fd);
        bpf_task_release(other);
        return f;
}

/* A script run by its path is gone by now and BPF cannot resolve a path, so
 * for the one kind that has a well-known place we fall back on the path the
 * exec was given. A script reached through a symlink, a bind mount or a
 * relative path from inside /dev/shm escapes this: only the lsm backend,
 * which sees the script itself, catches those. */
static __always_inline bool path_in_shm(const struct fl_config *cfg, const char *path) {
        int i = 0;

        if (cfg->n_shm_devs == 0)
                return false;
        return SKIP(path, &i, "/dev/shm/") || SKIP(path, &i, "/run/shm/");
}

/* The script of a #! exec, if it is fileless. */
static __always_inline bool classify_script(struct task_struct *task, struct linux_binprm *bprm,
                                            const struct fl_config *cfg, struct fl_file *f, __u32 *flags) {
        char path[FDPATH_MAX] = {};
        struct file *script;

        if (bpf_probe_read_kernel_str(path, sizeof(path), BPF_CORE_READ(bprm, filename)) < 0)
                return false;

        script = script_file(task, path);
        if (script) {
                classify(script, cfg, f);
                *flags = FL_EVENT_SCRIPT;
                return f->kind != FL_KIND_ORDINARY;
        }
        if (path_in_shm(cfg, path)) {
                *f = (struct fl_file) { .kind = FL_KIND_SHM };
                *flags = FL_EVENT_SCRIPT | FL_EVENT_BY_PATH;
                return true;
        }
        return false;
}

/* The task's name before the exec: by sched_process_exec the kernel has renamed
 * it after the new image ("3" for /proc/self/fd/3). task_rename fires inside
 * that rename with the old name still in task->comm; it is kept here until
 * the exec is judged. A rename by prctl() is overwritten by the next exec's. */
struct fl_task {
        char comm[FL_COMM_LEN];
};

/* key: a task; value: its name before its last rename. */
struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct fl_task);
} fl_tasks SEC(".maps");

SEC("tp_btf/task_rename")
int BPF_PROG(fl_task_rename, struct task_struct *task, const char *comm) {
        struct fl_task *t;

        t = bpf_task_storage_get(&fl_tasks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (t)
                BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        struct task_struct *task = bpf_get_current_task_btf();
        const struct fl_config *cfg;
        struct fl_task *old;
        struct fl_file f;
        __u32 flags = 0, action;

        old = bpf_task_storage_get(&fl_tasks, task, NULL, 0);

        cfg = config_get();
        if (!cfg) {
                bpf_send_signal(SIGKILL); /* cannot happen for an array map; fail closed anyway */
                return 0;
        }

        /* bprm->interp differs from bprm->filename only when a binary handler
         * (binfmt_script, binfmt_misc) substituted an interpreter: then look at
         * the script first, the event names it and not its interpreter. */
        if (BPF_CORE_READ(bprm, interp) == BPF_CORE_READ(bprm, filename) ||
            !classify_script(task, bprm, cfg, &f, &flags)) {
                flags = 0;
                classify(BPF_CORE_READ(bprm, file), cfg, &f);
                if (f.kind == FL_KIND_ORDINARY)
                        goto done;
        }

        /* The kill can fail (the signal cannot be queued): then say so rather
         * than report a kill that did not happen. */
        action = FL_ACTION_ALLOWED;
        if (!profile_allows(cfg->profile, task))
                action = bpf_send_signal(SIGKILL) == 0 ? FL_ACTION_KILLED : FL_ACTION_KILL_FAILED;
        report(task, BPF_CORE_READ(bprm, filename), &f, cfg->profile, FL_BACKEND_TRACEPOINT, FL_OP_EXEC, action,
               flags, old ? old->comm : NULL);
done:
        if (old)
                bpf_task_storage_delete(&fl_tasks, task);
        return 0;
}
