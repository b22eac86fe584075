// SPDX-License-Identifier: GPL-2.0-only
/* Backend "tracepoint": for kernels with neither the BPF LSM nor BPF
 * trampolines. sched_process_exec fires after the point of no return but
 * before the new image runs a single user-space instruction; SIGKILL sent
 * there is fatal before that. What it cannot see any more (the task's name
 * and executable before the exec, a #! script's own file) is collected
 * earlier on the way, at sched_prepare_exec (6.10 and later) or task_rename. */

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

/* A script run by its path: on kernels where neither sched_prepare_exec nor
 * the pending release below shows the script, fall back on the path the exec
 * was given for the one kind with a well-known place. */
static __always_inline bool path_in_shm(const struct fl_config *cfg, const char *path) {
        int i = 0;

        if (cfg->n_shm_devs == 0)
                return false;
        return SKIP(path, &i, "/dev/shm/") || SKIP(path, &i, "/run/shm/");
}

/* key: a task; value: what it was before its exec. */
struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct fl_task);
} fl_tasks SEC(".maps");

/* Before 6.7 the deferred fput() queued the file's f_rcuhead. */
struct file___6_1 {
        struct callback_head f_rcuhead;
} __attribute__((preserve_access_index));

#define TASK_WORKS_MAX 48
#define S_IFMT 00170000
#define S_IFREG 0100000

/* Is F, taken from a task_works entry, really a regular file? Checked by its
 * own links rather than by the entry's callback (____fput), whose address
 * only /proc/kallsyms would give, which the daemon's hardened unit cannot
 * read: another kind of entry, read as a file, fails these. */
static __always_inline bool file_consistent(struct file *f) {
        struct inode *inode = BPF_CORE_READ(f, f_inode);
        struct dentry *d = BPF_CORE_READ(f, f_path.dentry);

        return inode && d && BPF_CORE_READ(f, f_path.mnt) && BPF_CORE_READ(d, d_inode) == inode &&
               (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFREG;
}

/* The #! script of this exec: when binfmt_script hands over to the
 * interpreter, exec drops its own reference to the script's file, which it
 * always opened itself (also for /proc/self/fd/N or execveat()), so the last
 * fput() is deferred to the task's return to user space and the file waits on
 * current->task_works. Nothing else of this exec is queued before it (the
 * list is empty at the syscall's entry, the close-on-exec files and the old
 * image's mappings come later and go to the head), so it is the oldest entry:
 * the tail. Found by the file itself, whatever path spelling the exec used.
 * io_uring's cancellation at the point of no return runs the list, which is
 * why sched_prepare_exec, before it, is the place to look. */
static __always_inline struct file *pending_script(struct task_struct *task) {
        struct callback_head *cb = BPF_CORE_READ(task, task_works);
        struct file *found = NULL, *f;
        unsigned long off;

        off = bpf_core_field_exists(struct file, f_task_work) ? bpf_core_field_offset(struct file, f_task_work)
                                                              : bpf_core_field_offset(struct file___6_1, f_rcuhead);
        for (int i = 0; i < TASK_WORKS_MAX && cb; i++) {
                f = (void *) cb - off;
                if (file_consistent(f))
                        found = f;
                cb = BPF_CORE_READ(cb, next);
        }
        return found;
}

/* The script of a #! exec, if it is fileless, from the pending release or
 * else from the exec path. */
static __always_inline bool classify_script(struct task_struct *task, struct linux_binprm *bprm,
                                            const struct fl_config *cfg, struct fl_file *f, __u32 *flags) {
        char path[FDPATH_MAX] = {};
        struct file *script;

        script = pending_script(task);
        if (!script) {
                if (bpf_probe_read_kernel_str(path, sizeof(path), BPF_CORE_READ(bprm, filename)) < 0)
                        return false;
                script = script_file(task, path);
        }
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

static __always_inline bool substituted(struct linux_binprm *bprm) {
        /* bprm->interp differs from bprm->filename only when a binary handler
         * (binfmt_script, binfmt_misc) substituted an interpreter. */
        return BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename);
}

/* 6.10 and later: at the point of no return, the task still has its old name
 * and executable, and a #! script is still on its way out. */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(fl_prepare_exec, struct task_struct *task, struct linux_binprm *bprm) {
        const struct fl_config *cfg = config_get();
        struct file *exe = BPF_CORE_READ(task, mm, exe_file);
        struct fl_file f;
        struct fl_task *t;
        __u32 flags;

        t = bpf_task_storage_get(&fl_tasks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (!t)
                return 0;
        t->known = FL_TASK_COMM | FL_TASK_EXE;
        BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
        t->exe_inode = BPF_CORE_READ(exe, f_inode, i_ino);
        t->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
        t->exe_dir_inode = BPF_CORE_READ(exe, f_path.dentry, d_parent, d_inode, i_ino);
        t->uid = BPF_CORE_READ(task, cred, uid.val);
        t->euid = BPF_CORE_READ(task, cred, euid.val);
        bpf_probe_read_kernel_str(t->program, sizeof(t->program), BPF_CORE_READ(exe, f_path.dentry, d_name.name));

        if (cfg && substituted(bprm) && classify_script(task, bprm, cfg, &f, &flags) && !(flags & FL_EVENT_BY_PATH)) {
                struct dentry *d = f.dentry;

                t->known |= FL_TASK_SCRIPT;
                t->script_kind = f.kind;
                t->script_inode = f.ino;
                t->script_dev = f.dev;
                bpf_probe_read_kernel_str(t->script_name, sizeof(t->script_name), BPF_CORE_READ(d, d_name.name));
        }
        return 0;
}

/* Before 6.10: task_rename fires inside the exec's rename with the old name
 * still in task->comm. The executable is replaced before it, so on those
 * kernels an event cannot name the program that did the exec. */
SEC("tp_btf/task_rename")
int BPF_PROG(fl_task_rename, struct task_struct *task, const char *comm) {
        struct fl_task *t;

        if (task != bpf_get_current_task_btf() || !BPF_CORE_READ_BITFIELD_PROBED(task, in_execve))
                return 0;
        t = bpf_task_storage_get(&fl_tasks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (!t || (t->known & FL_TASK_COMM))
                return 0;
        t->known |= FL_TASK_COMM;
        BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
        return 0;
}

#include "fileless-tp-mappings.bpf.h"

#define AT_NULL 0
#define AT_BASE 7
#define AUXV_PAIRS 28 /* saved_auxv[] has AT_VECTOR_SIZE entries, two per pair */

struct fl_vma_file {
        struct file *file;
};

static long vma_file(struct task_struct *task, struct vm_area_struct *vma, void *data) {
        ((struct fl_vma_file *) data)->file = BPF_CORE_READ(vma, vm_file);
        return 0;
}

/* The program interpreter (PT_INTERP) the kernel's ELF loader mapped for the
 * new image, by no system call anybody could trace: found where the image's
 * auxiliary vector says it is (AT_BASE), in the new address space. */
static __always_inline struct file *interpreter_file(struct task_struct *task) {
        struct mm_struct *mm = BPF_CORE_READ(task, mm);
        unsigned long base = 0, type, v;
        struct fl_vma_file f = {};

        for (int i = 0; i < AUXV_PAIRS; i++) {
                type = BPF_CORE_READ(mm, saved_auxv[2 * i]);
                v = BPF_CORE_READ(mm, saved_auxv[2 * i + 1]);
                if (type == AT_NULL)
                        break;
                if (type == AT_BASE) {
                        base = v;
                        break;
                }
        }
        if (base == 0 || bpf_find_vma(task, base, vma_file, &f, 0) != 0)
                return NULL;
        return f.file;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        struct task_struct *task = bpf_get_current_task_btf();
        const struct fl_config *cfg;
        struct fl_verdict v;
        struct fl_task *pre;
        struct file *interp;
        struct fl_exe exe;
        struct fl_file f = {};
        __u32 flags = 0, action;

        pre = bpf_task_storage_get(&fl_tasks, task, NULL, 0);

        cfg = config_get();
        if (!cfg) {
                bpf_send_signal(SIGKILL); /* cannot happen for an array map; fail closed anyway */
                return 0;
        }

        /* The script first: the event names it, not its interpreter. */
        if (pre && (pre->known & FL_TASK_SCRIPT)) {
                f = (struct fl_file) { .ino = pre->script_inode, .dev = pre->script_dev, .kind = pre->script_kind };
                flags = FL_EVENT_SCRIPT;
        } else if (!substituted(bprm) || !classify_script(task, bprm, cfg, &f, &flags)) {
                flags = 0;
                classify(BPF_CORE_READ(bprm, file), cfg, &f);
                if (f.kind == FL_KIND_ORDINARY) {
                        /* An ordinary image with a fileless interpreter. */
                        interp = interpreter_file(task);
                        if (interp)
                                judge_mapping_tp(interp, FL_OP_MMAP);
                        goto done;
                }
        }

        /* The kill can fail (bpf_send_signal() defers it, and only one
         * deferred signal per CPU can be pending): then say so rather than
         * report a kill that did not happen. */
        /* Trust needs the executable and the user ids from before the exec
         * (the mark in fl_trust_marks is still the old image's until
         * mark_exec() below): unknown before 6.10 (no sched_prepare_exec),
         * and then nobody is trusted. */
        exe = (struct fl_exe) { .uid = FL_UID_UNKNOWN, .euid = FL_UID_UNKNOWN };
        if (pre && (pre->known & FL_TASK_EXE))
                exe = (struct fl_exe) { pre->exe_dev, pre->exe_inode, pre->exe_dir_inode, pre->program, pre->uid,
                                        pre->euid };
        v = decide(task, cfg, &exe);
        action = verdict_action(&v, FL_ACTION_KILLED);
        if (v.stop && bpf_send_signal(SIGKILL) != 0)
                action = FL_ACTION_KILL_FAILED;
        report(task, BPF_CORE_READ(bprm, filename), &f, &v, FL_BACKEND_TRACEPOINT, FL_OP_EXEC, action, flags, true,
               pre);
done:
        /* Before 6.10 no exec can be trusted (the executable before it is
         * unknown), and no image gets a mark either, so that a mapping
         * (TracepointMappings=yes) is never trusted there: this backend
         * trusts nothing at all on those kernels, as the daemon says. */
        if (pre && (pre->known & FL_TASK_EXE))
                mark_exec(task, bprm);
        else
                bpf_task_storage_delete(&fl_trust_marks, task);
        if (pre)
                bpf_task_storage_delete(&fl_tasks, task);
        return 0;
}

