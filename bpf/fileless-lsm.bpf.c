// SPDX-License-Identifier: GPL-2.0-only
/* Backend "lsm": refuse the exec with EPERM before the point of no return. */

#include "fileless-common.bpf.h"

/* bprm_check_security runs once for every binary handler round: first on the
 * file named by exec, then, for a #! script, on its interpreter. So a script
 * held in a memfd is judged as itself, which bprm_creds_from_file (the hook
 * bpflock uses) never sees. */
SEC("lsm/bprm_check_security")
int BPF_PROG(fl_bprm_check, struct linux_binprm *bprm, int ret) {
        const struct fl_config *cfg;
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

        return judge(bpf_get_current_task_btf(), bprm, cfg, &f, FL_BACKEND_LSM, flags) ? -EPERM : 0;
}
