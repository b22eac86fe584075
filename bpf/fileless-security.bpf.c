// SPDX-License-Identifier: GPL-2.0-only
/* The backends that refuse with EPERM before the point of no return, built
 * twice from this one source: "lsm" attaches to the BPF LSM's hooks, and
 * "fmod_ret" (-DFL_FMOD_RET) to the security_*() functions that call every
 * LSM, through a BPF trampoline. The verifier lets BPF_MODIFY_RETURN attach to
 * any function named security_*, so kernels that build the BPF LSM but do not
 * activate it (most distributions) still give EPERM. A hook is written once
 * here and exists in both. */

#include "fileless-common.bpf.h"

/* 0 or -EPERM, in a form the verifier can bound: 6.12 requires an LSM
 * program's return value to be provably in [-4095, 0], and clang would
 * otherwise compute "allow ? 0 : -1" as a negation it cannot follow. */
static __always_inline int verdict(bool allow) {
        int r = allow ? 0 : -EPERM;

        barrier_var(r);
        if (r != 0)
                return -EPERM;
        return 0;
}

#ifdef FL_FMOD_RET
#define FL_HOOK(lsm_hook, security_fn) SEC("fmod_ret/" #security_fn)
#define FL_BACKEND_SELF FL_BACKEND_FMOD_RET
#else
#define FL_HOOK(lsm_hook, security_fn) SEC("lsm/" #lsm_hook)
#define FL_BACKEND_SELF FL_BACKEND_LSM
#endif

/* bprm_check_security runs once for every binary handler round: first on the
 * file named by exec, then, for a #! script, on its interpreter. So a script
 * held in a memfd is judged as itself, which bprm_creds_from_file (the hook
 * bpflock uses) never sees. RET is what the LSMs before us (or, for fmod_ret,
 * the programs before us) decided: never overrule a refusal. */
FL_HOOK(bprm_check_security, security_bprm_check)
int BPF_PROG(fl_bprm_check, struct linux_binprm *bprm, int ret) {
        struct task_struct *task = bpf_get_current_task_btf();
        const struct fl_config *cfg;
        struct fl_verdict v;
        struct fl_file f;
        __u32 flags = 0;

        if (ret != 0)
                return ret;

        cfg = config_get();
        if (!cfg)
                return -EPERM; /* cannot happen for an array map; fail closed anyway */

        classify(BPF_CORE_READ(bprm, file), cfg, &f);
        if (f.kind == FL_KIND_ORDINARY)
                return 0;

        if (bprm->buf[0] == '#' && bprm->buf[1] == '!')
                flags |= FL_EVENT_SCRIPT;

        v = decide_current(task, cfg);
        report(task, BPF_CORE_READ(bprm, filename), &f, &v, FL_BACKEND_SELF, FL_OP_EXEC,
               verdict_action(&v, FL_ACTION_DENIED), flags, false, NULL);
        return verdict(!v.stop);
}

/* Code mapped from a fileless file without an exec of it: the dynamic
 * loader run as a program, dlopen(), LD_PRELOAD and LD_AUDIT, and a program
 * interpreter (PT_INTERP) that the kernel's ELF loader maps itself. They all
 * map the file privately with PROT_EXEC. A MAP_SHARED executable mapping is
 * a process running code it writes itself (the JIT double mapping of .NET or
 * libffi: one memfd mapped writable and executable), which is no more
 * fileless than anonymous executable memory, and out of scope: systemd's
 * MemoryDenyWriteExecute= is the tool for that. */
static __always_inline int judge_mapping(struct file *file, __u32 op) {
        struct task_struct *task = bpf_get_current_task_btf();
        const struct fl_config *cfg;
        struct fl_verdict v;
        struct fl_file f;

        cfg = config_get();
        if (!cfg)
                return -EPERM;
        /* The kernel's ELF loader maps the new image of an exec, which
         * bprm_check has judged already (and allowed, or we would not be
         * here). The same for a later mapping of the task's own executable:
         * no new code. */
        if (BPF_CORE_READ(file, f_inode) == BPF_CORE_READ(task, mm, exe_file, f_inode))
                return 0;
        classify(file, cfg, &f);
        if (f.kind == FL_KIND_ORDINARY)
                return 0;
        v = decide_current(task, cfg);
        report(task, NULL, &f, &v, FL_BACKEND_SELF, op, verdict_action(&v, FL_ACTION_DENIED), 0, false, NULL);
        return verdict(!v.stop);
}

#define PROT_EXEC 0x4
#define MAP_TYPE 0x0f
#define MAP_PRIVATE 0x02
#define VM_EXEC 0x4
#define VM_SHARED 0x8

/* The LSM hook gets the protection after READ_IMPLIES_EXEC as well as the
 * one asked for; security_mmap_file() only the latter, which is what the LSM
 * hook's caller started from. */
FL_HOOK(mmap_file, security_mmap_file)
#ifdef FL_FMOD_RET
int BPF_PROG(fl_mmap_file, struct file *file, unsigned long prot, unsigned long flags, int ret) {
#else
int BPF_PROG(fl_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags,
             int ret) {
#endif
        if (ret != 0)
                return ret;
        if (!file || !(prot & PROT_EXEC) || (flags & MAP_TYPE) != MAP_PRIVATE)
                return 0;
        return judge_mapping(file, FL_OP_MMAP);
}

FL_HOOK(file_mprotect, security_file_mprotect)
int BPF_PROG(fl_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret) {
        unsigned long vm_flags;
        struct file *file;

        if (ret != 0)
                return ret;
        if (!(prot & PROT_EXEC))
                return 0;
        vm_flags = BPF_CORE_READ(vma, vm_flags);
        file = BPF_CORE_READ(vma, vm_file);
        if (!file || (vm_flags & (VM_EXEC | VM_SHARED)))
                return 0;
        return judge_mapping(file, FL_OP_MPROTECT);
}

/* The mark of every new image (see mark_exec()): a tracepoint, which every
 * kernel with BTF has, whatever the hooks above are attached with. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_exec_mark, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
        mark_exec(bpf_get_current_task_btf(), bprm);
        return 0;
}
