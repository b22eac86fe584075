// SPDX-License-Identifier: GPL-2.0-only
/* The backends that refuse with EPERM before the point of no return, built
 * twice from this one source: "lsm" attaches to the BPF LSM's hooks, and
 * "fmod_ret" (-DFL_FMOD_RET) to the security_*() functions that call every
 * LSM, through a BPF trampoline. The verifier lets BPF_MODIFY_RETURN attach to
 * any function named security_*, so kernels that build the BPF LSM but do not
 * activate it (most distributions) still give EPERM. A hook is written once
 * here and exists in both. */

#include "fileless-common.bpf.h"

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
        struct fl_file f;
        __u32 flags = 0;
        bool allow;

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

        allow = profile_allows(cfg->profile, task);
        report(task, bprm, &f, cfg->profile, FL_BACKEND_SELF, allow ? FL_ACTION_ALLOWED : FL_ACTION_DENIED, flags,
               NULL);
        return allow ? 0 : -EPERM;
}
