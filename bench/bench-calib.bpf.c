// SPDX-License-Identifier: LGPL-2.1-or-later
/* Calibration programs for exec-overhead, on the daemon's hooks, attached
 * next to the daemon's program so that all of them see the same execs:
 *
 *   flbench_null_tp, flbench_null_lsm: do nothing. Their run_time_ns / run_cnt
 *       is what any program there costs on this machine (dispatch, and the two
 *       clock reads of bpf_stats itself): the floor under the daemon's figure.
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
