// SPDX-License-Identifier: LGPL-2.1-or-later
/* Calibration programs for exec-overhead, on the daemon's hooks, attached
 * next to the daemon's program so that all of them see the same execs:
 *
 *   flbench_null_tp, flbench_null_lsm, flbench_null_fmod_ret: do nothing. Their
 *       run_time_ns / run_cnt is what any program there costs on this machine
 *       (dispatch, and the two clock reads of bpf_stats itself): the floor under
 *       the daemon's figure.
 *   flbench_auxv_tp: the AT_BASE lookup of fl_sched_exec's interpreter check
 *       (interpreter_file() in bpf/fileless-tp.bpf.c), alone: the new image's
 *       auxiliary vector walked pair by pair, two BPF_CORE_READ (two
 *       bpf_probe_read_kernel() calls) a pair, up to AT_BASE.
 *   flbench_auxv_block_tp: the same lookup from one bpf_probe_read_kernel() of
 *       the vector's first 16 pairs (AT_BASE comes ninth or so on x86-64).
 *   flbench_null_sys_enter, flbench_null_sys_exit: do nothing on the raw system
 *       call tracepoints (tp_btf/sys_enter, sys_exit), as fl_sys_enter and
 *       fl_sys_exit sit with TracepointMappings=yes: attached, they send every
 *       system call down the traced path, which is the floor under those two.
 *   flbench_storage_tp (sched_prepare_exec): fl_prepare_exec's task storage
 *       alone: a 392-byte value (struct fl_task's size) created for the task,
 *       one field written, and deleted, as fl_sched_exec deletes it.
 *   flbench_prepare_reads_tp (sched_prepare_exec): fl_prepare_exec's reads
 *       alone (comm, the executable's inode, device, directory inode and
 *       name), into the stack, no storage.
 *   flbench_probe_tp: the reads the daemon's tracepoint program makes for an
 *       ordinary exec (bprm->interp, ->filename, ->file, and classify()'s
 *       dentry, inode, sb, nlink, ino, s_dev, d_parent, s_root), each through
 *       BPF_CORE_READ, i.e. one bpf_probe_read_kernel() helper call per field.
 *   flbench_direct_tp: the same fields read directly through the typed
 *       pointers a tp_btf program gets (BTF pointer walking: the verifier turns
 *       them into guarded loads, no helper call).
 *   flbench_fast_tp: what an ordinary exec would cost if the program looked at
 *       the inode first and stopped there for a linked file outside the shm
 *       mounts (a memfd has nlink 0: __shmem_file_setup() clears it, and it
 *       cannot be linked): bprm->interp, ->filename, ->file, f_inode, i_nlink,
 *       i_sb, s_dev, through BPF_CORE_READ like the daemon; no dentry.
 *
 * Build: bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h
 *        clang -target bpf -O2 -g -D__TARGET_ARCH_x86 -I. -c bench-calib.bpf.c */

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Keeps the compiler from dropping the reads. */
__u64 flbench_sink;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_null_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(flbench_null_lsm, struct linux_binprm *bprm, int ret) {
        return ret;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(flbench_null_sys_enter, struct pt_regs *regs, long id) {
        return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(flbench_null_sys_exit, struct pt_regs *regs, long ret) {
        return 0;
}

SEC("fmod_ret/security_bprm_check")
int BPF_PROG(flbench_null_fmod_ret, struct linux_binprm *bprm, int ret) {
        return ret;
}

struct flbench_task {
        __u32 known, kind;
        __u64 words[6];
        char comm[16], program[64], name[256];
};

struct {
        __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct flbench_task);
} flbench_tasks SEC(".maps");

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(flbench_storage_tp, struct task_struct *task, struct linux_binprm *bprm) {
        struct flbench_task *t = bpf_task_storage_get(&flbench_tasks, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);

        if (!t)
                return 0;
        t->known = 1;
        bpf_task_storage_delete(&flbench_tasks, task);
        return 0;
}

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(flbench_prepare_reads_tp, struct task_struct *task, struct linux_binprm *bprm) {
        struct file *exe = BPF_CORE_READ(task, mm, exe_file);
        char comm[16], program[64];
        __u64 sum;

        BPF_CORE_READ_STR_INTO(&comm, task, comm);
        sum = BPF_CORE_READ(exe, f_inode, i_ino) + BPF_CORE_READ(exe, f_inode, i_sb, s_dev) +
              BPF_CORE_READ(exe, f_path.dentry, d_parent, d_inode, i_ino);
        bpf_probe_read_kernel_str(program, sizeof(program), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
        flbench_sink += sum + comm[0] + program[0];
        return 0;
}

#define FLBENCH_AT_NULL 0
#define FLBENCH_AT_BASE 7

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_auxv_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct mm_struct *mm = BPF_CORE_READ(task, mm);
        unsigned long base = 0, type, v;

        for (int i = 0; i < 28; i++) {
                type = BPF_CORE_READ(mm, saved_auxv[2 * i]);
                v = BPF_CORE_READ(mm, saved_auxv[2 * i + 1]);
                if (type == FLBENCH_AT_NULL)
                        break;
                if (type == FLBENCH_AT_BASE) {
                        base = v;
                        break;
                }
        }
        flbench_sink += base;
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_auxv_block_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct mm_struct *mm = BPF_CORE_READ(task, mm);
        unsigned long auxv[32], base = 0;

        if (bpf_probe_read_kernel(auxv, sizeof(auxv), __builtin_preserve_access_index(&mm->saved_auxv)) != 0)
                return 0;
        for (int i = 0; i < 16; i++) {
                if (auxv[2 * i] == FLBENCH_AT_NULL)
                        break;
                if (auxv[2 * i] == FLBENCH_AT_BASE) {
                        base = auxv[2 * i + 1];
                        break;
                }
        }
        flbench_sink += base;
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_probe_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        const char *interp = BPF_CORE_READ(bprm, interp), *filename = BPF_CORE_READ(bprm, filename);
        struct file *file = BPF_CORE_READ(bprm, file);
        struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        struct super_block *sb = BPF_CORE_READ(inode, i_sb);
        __u64 sum = BPF_CORE_READ(inode, __i_nlink) + BPF_CORE_READ(inode, i_ino) + BPF_CORE_READ(sb, s_dev);

        sum += BPF_CORE_READ(dentry, d_parent) == dentry;
        sum += BPF_CORE_READ(sb, s_root) == dentry;
        sum += interp == filename;
        flbench_sink += sum;
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_direct_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        const char *interp = bprm->interp, *filename = bprm->filename;
        struct file *file = bprm->file;
        struct dentry *dentry = file->f_path.dentry;
        struct inode *inode = file->f_inode;
        struct super_block *sb = inode->i_sb;
        __u64 sum = inode->__i_nlink + inode->i_ino + sb->s_dev;

        sum += dentry->d_parent == dentry;
        sum += sb->s_root == dentry;
        sum += interp == filename;
        flbench_sink += sum;
        return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(flbench_fast_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        const char *interp = BPF_CORE_READ(bprm, interp), *filename = BPF_CORE_READ(bprm, filename);
        struct file *file = BPF_CORE_READ(bprm, file);
        struct inode *inode = BPF_CORE_READ(file, f_inode);
        __u64 sum = BPF_CORE_READ(inode, __i_nlink) + BPF_CORE_READ(inode, i_sb, s_dev);

        sum += interp == filename;
        flbench_sink += sum;
        return 0;
}
