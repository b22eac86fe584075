/* SPDX-License-Identifier: GPL-2.0-only */
#pragma once

/* The tracepoint backend's view of executable mappings. The programs here are
 * attached only when TracepointMappings=yes: without LSM hooks or trampolines, the raw syscall
 * tracepoints are the one place this kind of kernel lets us see mmap() and
 * mprotect(), and enabling them sends every system call of every task down
 * the slow path (the figures are in bench/README.md). The raw sys_enter, not
 * syscalls:sys_enter_mmap: that one never sees the 32-bit calls any 64-bit
 * process can make with int $0x80. The task is killed before it returns to
 * user space: on entry when the fd names a fileless file (so the mapping
 * does not exist yet), again on exit from what was really mapped (another
 * thread may have swapped the fd in between). */

#define PROT_EXEC 0x4
#define MAP_TYPE 0x0f
#define MAP_PRIVATE 0x02
#define VM_EXEC 0x4
#define VM_SHARED 0x8
#define TS_COMPAT 0x2

/* x86-64 and its 32-bit compat ABI. */
#define NR_MMAP 9
#define NR_MPROTECT 10
#define NR_PKEY_MPROTECT 329
#define NR32_OLD_MMAP 90
#define NR32_MPROTECT 125
#define NR32_MMAP2 192
#define NR32_PKEY_MPROTECT 380

#define MPROTECT_VMAS_MAX 16

struct fl_syscall {
        __u64 addr, len, prot, flags, fd;
        bool mmap;
};

static __always_inline bool syscall_args(struct pt_regs *regs, long id, struct fl_syscall *c) {
        struct task_struct *task = bpf_get_current_task_btf();

        if (!(BPF_CORE_READ(task, thread_info.status) & TS_COMPAT)) {
                if (id != NR_MMAP && id != NR_MPROTECT && id != NR_PKEY_MPROTECT)
                        return false;
                *c = (struct fl_syscall) { BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, dx),
                                           BPF_CORE_READ(regs, r10), BPF_CORE_READ(regs, r8), id == NR_MMAP };
                return true;
        }
        if (id != NR32_OLD_MMAP && id != NR32_MMAP2 && id != NR32_MPROTECT && id != NR32_PKEY_MPROTECT)
                return false;
        *c = (struct fl_syscall) { BPF_CORE_READ(regs, bx), BPF_CORE_READ(regs, cx), BPF_CORE_READ(regs, dx),
                                   BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, di),
                                   id == NR32_OLD_MMAP || id == NR32_MMAP2 };
        if (id == NR32_OLD_MMAP) {
                /* old_mmap(struct mmap_arg_struct32 *) */
                __u32 a[6] = {};

                bpf_probe_read_user(a, sizeof(a), (void *) c->addr);
                *c = (struct fl_syscall) { a[0], a[1], a[2], a[3], a[4], true };
        }
        c->fd &= 0xffffffff;
        return true;
}

/* Returns whether FILE is fileless (and so was judged). */
static __always_inline bool judge_mapping_tp(struct file *file, __u32 op) {
        struct task_struct *task = bpf_get_current_task_btf();
        const struct fl_config *cfg = config_get();
        struct fl_verdict v;
        struct fl_file f;
        __u32 action;

        if (!cfg) {
                bpf_send_signal(SIGKILL);
                return true;
        }
        /* The task's own executable: judged when it was exec'd. */
        if (BPF_CORE_READ(file, f_inode) == BPF_CORE_READ(task, mm, exe_file, f_inode))
                return false;
        classify(file, cfg, &f);
        if (f.kind == FL_KIND_ORDINARY)
                return false;
        v = decide_current(task, cfg);
        action = verdict_action(&v, FL_ACTION_KILLED);
        if (v.stop && bpf_send_signal(SIGKILL) != 0)
                action = FL_ACTION_KILL_FAILED;
        report(task, NULL, &f, &v, FL_BACKEND_TRACEPOINT, op, action, 0, false, NULL);
        return true;
}

struct fl_vma {
        struct file *file;
        unsigned long flags, end;
};

static long vma_get(struct task_struct *task, struct vm_area_struct *vma, void *data) {
        struct fl_vma *v = data;

        v->file = BPF_CORE_READ(vma, vm_file);
        v->flags = BPF_CORE_READ(vma, vm_flags);
        v->end = BPF_CORE_READ(vma, vm_end);
        return 0;
}

/* The first private file mapping in [addr, addr + len) that WANT_EXEC says
 * is (or is not yet) executable. bpf_find_vma() only try-locks the address
 * space; contended, it fails and we see nothing for that range. */
static __always_inline struct file *private_file_mapping(__u64 addr, __u64 len, bool want_exec) {
        struct task_struct *task = bpf_get_current_task_btf();
        __u64 end = addr + len;

        for (int i = 0; i < MPROTECT_VMAS_MAX && addr < end; i++) {
                struct fl_vma v = {};

                if (bpf_find_vma(task, addr, vma_get, &v, 0) != 0)
                        return NULL;
                if (v.file && !(v.flags & VM_SHARED) && !!(v.flags & VM_EXEC) == want_exec)
                        return v.file;
                addr = v.end;
        }
        return NULL;
}

static __always_inline struct file *task_fd_file(struct task_struct *task, __u32 fd);

SEC("tp_btf/sys_enter")
int BPF_PROG(fl_sys_enter, struct pt_regs *regs, long id) {
        struct task_struct *task;
        struct fl_syscall c;
        struct file *file;
        struct fl_task *t;

        if (!syscall_args(regs, id, &c) || !(c.prot & PROT_EXEC))
                return 0;
        if (c.mmap) {
                if ((c.flags & MAP_TYPE) != MAP_PRIVATE)
                        return 0;
                task = bpf_get_current_task_btf();
                file = task_fd_file(task, c.fd);
                /* Judged on entry: what gets mapped is this call's business
                 * already (overlayfs maps the real file, not the one the fd
                 * names, so a second look would count it twice). */
                if (file && judge_mapping_tp(file, FL_OP_MMAP)) {
                        t = bpf_task_storage_get(&fl_tasks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
                        if (t)
                                t->mapping = 1;
                }
                return 0;
        }
        file = private_file_mapping(c.addr, c.len, false);
        if (file)
                judge_mapping_tp(file, FL_OP_MPROTECT);
        return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fl_sys_exit, struct pt_regs *regs, long ret) {
        struct task_struct *task = bpf_get_current_task_btf();
        long id = BPF_CORE_READ(regs, orig_ax);
        struct fl_syscall c;
        struct file *file;
        struct fl_task *t;
        bool judged = false;

        if (!syscall_args(regs, id, &c) || !c.mmap || !(c.prot & PROT_EXEC) || (c.flags & MAP_TYPE) != MAP_PRIVATE)
                return 0;
        t = bpf_task_storage_get(&fl_tasks, task, NULL, 0);
        if (t) {
                judged = t->mapping != 0;
                t->mapping = 0;
        }
        if (judged || (ret < 0 && ret > -4096))
                return 0;
        file = private_file_mapping((__u64) ret, 1, true);
        if (file)
                judge_mapping_tp(file, FL_OP_MMAP);
        return 0;
}
