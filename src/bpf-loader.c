/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "bpf-loader.h"
#include "bpf-pins.h"
#include "bpf-objects.h"
#include "bpf-seal.h"
#include "log.h"
#include "names.h"

/* The kernel's "operation not supported" that leaks out of BPF_PROG_LOAD. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

/* POSIX shm lives in the tmpfs mounted at /dev/shm (/run/shm on some
 * systems). Only real mount points count: a plain directory would make us
 * call every file of its parent filesystem shm. */
static void find_shm_mounts(FlBpf *b) {
        static const char *const dirs[] = { "/dev/shm", "/run/shm" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *parent = NULL;
                struct stat st, pst;
                struct statfs sfs;
                uint64_t kdev;
                bool dup = false;

                if (stat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (statfs(dirs[i], &sfs) < 0 || (sfs.f_type != TMPFS_MAGIC && sfs.f_type != RAMFS_MAGIC)) {
                        log_warning("%s is not a tmpfs, not treating it as POSIX shared memory.", dirs[i]);
                        continue;
                }
                if (asprintf(&parent, "%s/..", dirs[i]) < 0 || stat(parent, &pst) < 0)
                        continue;
                if (pst.st_dev == st.st_dev) {
                        log_warning("%s is not a mount point, not treating it as POSIX shared memory.", dirs[i]);
                        continue;
                }

                kdev = kdev_from_major_minor(major(st.st_dev), minor(st.st_dev));
                for (uint32_t j = 0; j < b->shm_devs_n; j++)
                        dup = dup || b->shm_devs[j] == kdev;
                if (dup || b->shm_devs_n >= FL_SHM_DEVS_MAX)
                        continue;
                b->shm_dirs[b->shm_devs_n] = dirs[i];
                b->shm_devs[b->shm_devs_n++] = kdev;
                log_debug("POSIX shared memory: %s (device %u:%u)", dirs[i], major(st.st_dev), minor(st.st_dev));
        }
        if (b->shm_devs_n == 0)
                log_warning("No tmpfs mounted at /dev/shm or /run/shm: POSIX shm objects are caught only once unlinked.");
}

const char *fl_bpf_shm_dir(const FlBpf *b, uint64_t dev) {
        for (uint32_t i = 0; i < b->shm_devs_n; i++)
                if (b->shm_devs[i] == dev)
                        return b->shm_dirs[i];
        return NULL;
}

struct fl_config fl_config_make(const FlBpf *b, int backend, int profile) {
        struct fl_config c = {
                .abi = FL_ABI_VERSION,
                .profile = profile,
                .backend = backend,
                .n_shm_devs = b->shm_devs_n,
                .cgroup_root_id = b->cgroup_root_id,
                .pidns_inum = b->pidns_inum,
        };

        memcpy(c.shm_devs, b->shm_devs, sizeof(c.shm_devs));
        return c;
}

int fl_config_read(int fd, struct fl_config *ret) {
        uint32_t zero = 0;

        return bpf_map_lookup_elem(fd, &zero, ret) < 0 ? -errno : 0;
}

int fl_config_write(int fd, const struct fl_config *c) {
        uint32_t zero = 0;

        return bpf_map_update_elem(fd, &zero, c, BPF_ANY) < 0 ? -errno : 0;
}

void fl_bpf_fds_close(FlBpf *b) {
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                closep(&b->map_fds[i]), b->map_fds[i] = -1;
        for (size_t i = 0; i < b->n_links; i++) {
                closep(&b->link_fds[i]);
                b->link_fds[i] = -1;
                b->link_names[i] = mfree(b->link_names[i]);
        }
        b->n_links = 0;
        for (size_t i = 0; i < b->n_aux; i++) {
                closep(&b->aux_fds[i]);
                b->aux_fds[i] = -1;
                b->aux_names[i] = mfree(b->aux_names[i]);
        }
        b->n_aux = 0;
}

int fl_bpf_add_aux(FlBpf *b, int fd, char *name) {
        if (b->n_aux >= FL_AUX_PINS_MAX) {
                free(name);
                return -E2BIG;
        }
        b->aux_fds[b->n_aux] = fd;
        b->aux_names[b->n_aux++] = name;
        return 0;
}

/* Our own copy of FD, and NAME (ours from now on) to pin it under, as one
 * more aux pin. */
static int take_aux(FlBpf *b, int fd, char *name) {
        int copy;

        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
                free(name);
                return -errno;
        }
        return fl_bpf_add_aux(b, copy, name);
}


/* libbpf's messages are for debugging: what it failed at is reported by us,
 * with the cause, at the right level. */
static int libbpf_print(enum libbpf_print_level level, const char *format, va_list ap) {
        _cleanup_free_ char *s = NULL;
        size_t n;

        if (level == LIBBPF_DEBUG || vasprintf(&s, format, ap) < 0)
                return 0;
        n = strlen(s);
        if (n > 0 && s[n - 1] == '\n')
                s[n - 1] = 0;
        log_debug("libbpf: %s", s);
        return 0;
}

static int take_link(FlBpf *b, const struct bpf_program *prog) {
        struct bpf_link *link;
        char *name = NULL;
        int r;

        if (prog_pin_name(prog, &name) < 0)
                return -ENOMEM;
        r = take_aux(b, bpf_program__fd(prog), name);
        if (r < 0)
                return r;
        link = bpf_program__attach(prog);
        if (!link)
                return -errno;
        b->link_fds[b->n_links] = fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 3);
        if (b->link_fds[b->n_links] < 0)
                r = -errno;
        else if (link_pin_name(prog, &b->link_names[b->n_links]) < 0)
                r = -ENOMEM;
        if (b->link_fds[b->n_links] >= 0)
                b->n_links++;
        bpf_link__destroy(link); /* only closes libbpf's fd: ours keeps the link */
        return r;
}

static int load_and_attach(FlBpf *b, int backend, int profile, const FlOptions *opts) {
        _cleanup_(fl_objects_done) FlObjects o = {};
        struct fl_config c;
        struct bpf_map *m;
        int r;

        r = backend_info_get(backend)->open(&o);
        if (r < 0)
                return r;
        /* A program for a tracepoint this kernel lacks would fail the whole
         * object: leave out what is not wanted here. */
        for (size_t i = 0; i < o.n_progs; i++)
                if (!fl_program_wanted(&o.progs[i], opts))
                        (void) bpf_program__set_autoload(o.progs[i].prog, false);
        r = bpf_object__load(o.obj);
        if (r < 0)
                return r;

        for (size_t i = 0; i < _FL_MAP_MAX; i++) {
                b->map_fds[i] = fcntl(bpf_map__fd(o.maps[i]), F_DUPFD_CLOEXEC, 3);
                if (b->map_fds[i] < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        bpf_object__for_each_map(m, o.obj) {
                char *name = NULL;

                if (fl_objects_own_map(&o, m))
                        continue;
                if (aux_map_pin_name(m, &name) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = take_aux(b, bpf_map__fd(m), name);
                if (r < 0)
                        goto fail;
        }

        /* The profile and the scopes are in the maps before a program can run. */
        c = fl_config_make(b, backend, profile);
        r = fl_config_write(b->map_fds[FL_MAP_CONFIG], &c);
        if (r >= 0)
                r = fl_bpf_sync_scopes(b, opts->scopes, opts->n_scopes);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < o.n_progs; i++) {
                if (!fl_program_wanted(&o.progs[i], opts))
                        continue;
                r = take_link(b, o.progs[i].prog);
                if (r < 0)
                        goto fail;
        }
        b->backend = backend;
        return 0;

fail:
        fl_bpf_fds_close(b);
        return r;
}

/* Links pinned by an instance with another backend or ABI, which ours now
 * replace: removing their pins detaches them, once ours are in place. Its
 * program and map pins go too, or they would keep those alive. */
static void unpin_stale_links(FlBpf *b) {
        _cleanup_(closedirp) DIR *d = opendir(b->pin_path);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                bool ours = false;

                if (!program_pin_name(de->d_name))
                        continue;
                for (size_t i = 0; i < b->n_links; i++)
                        ours = ours || streq(de->d_name, b->link_names[i]);
                for (size_t i = 0; i < b->n_aux; i++)
                        ours = ours || streq(de->d_name, b->aux_names[i]);
                if (!ours && pin_remove(b->pin_path, de->d_name) > 0)
                        log_info("Removed the stale pin %s/%s.", b->pin_path, de->d_name);
        }
}

static int pin_all(FlBpf *b) {
        int r;

        /* Maps first, the links last: a pinned link is the sign of a complete
         * set, and renaming it over an older one detaches that one only now
         * that the new program is already attached. */
        for (size_t i = 0; i < _FL_MAP_MAX; i++) {
                r = pin_object(b->pin_path, map_pin_names[i], b->map_fds[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < b->n_aux; i++) {
                r = pin_object(b->pin_path, b->aux_names[i], b->aux_fds[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < b->n_links; i++) {
                r = pin_object(b->pin_path, b->link_names[i], b->link_fds[i]);
                if (r < 0)
                        return r;
        }
        unpin_stale_links(b);
        return 0;
}

static int lsm_active(char **ret_reason) {
        _cleanup_fclose_ FILE *f = NULL;
        char buf[512] = {};

        f = fopen("/sys/kernel/security/lsm", "re");
        if (!f || !fgets(buf, sizeof(buf), f)) {
                int r = -errno;

                (void) asprintf(ret_reason, "cannot read /sys/kernel/security/lsm (%s; is securityfs mounted?)",
                                strerror(-r ?: EIO));
                return 0;
        }
        buf[strcspn(buf, "\n")] = 0;
        if (comma_list_has(buf, "bpf"))
                return 1;
        (void) asprintf(ret_reason, "the BPF LSM is not active (the kernel's active LSMs are %s)", buf);
        return 0;
}

static bool have_capability(const struct __user_cap_data_struct data[2], unsigned cap) {
        return data[cap / 32].effective & (1U << (cap % 32));
}

static int check_prerequisites(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        /* Checked up front, so that an unprivileged start fails with the reason
         * rather than with the first EPERM from deep inside libbpf. */
        if (syscall(SYS_capget, &h, data) < 0)
                return log_error_errno(errno, "Failed to read our capabilities: %m");
        if (!have_capability(data, CAP_SYS_ADMIN) &&
            !(have_capability(data, CAP_BPF) && have_capability(data, CAP_PERFMON)))
                return log_error_errno(EPERM,
                                       "filelesslockd needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load its "
                                       "programs: run it as root.");

        if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
                return log_error_errno(errno,
                                       "Kernel BTF is not available (/sys/kernel/btf/vmlinux: %m): "
                                       "filelesslockd needs a kernel built with CONFIG_DEBUG_INFO_BTF=y.");
        return 0;
}

/* Our capabilities were checked before, so a refusal here is the kernel's
 * (lockdown, no BPF trampolines, a missing hook): say so rather than blaming
 * privileges, and return a code that does not read as "permission denied". */
static int explain_load_error(int r, int backend, const char *context) {
        const char *hint = "";

        if (r == -ESRCH || r == -ENOENT)
                hint = ": the kernel has no attachable function or hook by that name";
        else if (backend == FL_BACKEND_FMOD_RET && (r == -EPERM || r == -ENOTSUPP || r == -EOPNOTSUPP))
                hint = ": this kernel does not support BPF trampolines (fentry/fmod_ret)";
        log_error_errno(r, "The kernel refused %s: %m%s%s%s (SYSTEMD_LOG_LEVEL=debug shows libbpf's log).",
                        backend_info_get(backend)->what, hint, context ? "; " : "", strempty(context));
        return -EOPNOTSUPP;
}

/* Tries the backends CHOICE allows, in order, until one is attached. */
static int load_any(FlBpf *b, int choice, int profile, const FlOptions *opts) {
        _cleanup_free_ char *lsm_reason = NULL, *fmod_reason = NULL;
        int r;

        if (choice != FL_BACKEND_CHOICE_AUTO) {
                /* Asked for by name: never fall back to something else. The
                 * kernel loads and attaches BPF LSM programs even when the BPF
                 * LSM is not active, and then never calls them: only
                 * securityfs tells, so without its word there is no lsm. */
                if (choice == FL_BACKEND_CHOICE_LSM && lsm_active(&lsm_reason) <= 0)
                        return log_error_errno(EOPNOTSUPP,
                                               "Backend lsm was requested, but %s: its programs would attach and "
                                               "never run. Boot with bpf in lsm=, or use backend fmod_ret.",
                                               lsm_reason);
                r = load_and_attach(b, choice, profile, opts);
                if (r < 0)
                        return explain_load_error(r, choice, lsm_reason);
                b->reason = strdup("requested");
                return 0;
        }

        /* auto: lsm when the BPF LSM is active, else fmod_ret where the kernel
         * has BPF trampolines (the same hooks, the same EPERM), else the
         * tracepoint. */
        if (lsm_active(&lsm_reason) > 0) {
                r = load_and_attach(b, FL_BACKEND_LSM, profile, opts);
                if (r >= 0) {
                        b->reason = strdup("the BPF LSM is active");
                        return 0;
                }
                free(lsm_reason);
                (void) asprintf(&lsm_reason, "the BPF LSM is listed as active but its program failed to load (%s)",
                                strerror(-r));
        }
        r = load_and_attach(b, FL_BACKEND_FMOD_RET, profile, opts);
        if (r >= 0) {
                (void) asprintf(&b->reason, "%s; BPF trampolines give the same EPERM", strna(lsm_reason));
                return 0;
        }
        (void) asprintf(&fmod_reason, "fmod_ret programs on security_bprm_check() failed to load (%s%s)",
                        strerror(-r), r == -EPERM || r == -ENOTSUPP ? ": no BPF trampolines on this kernel" : "");
        r = load_and_attach(b, FL_BACKEND_TRACEPOINT, profile, opts);
        if (r < 0)
                return explain_load_error(r, FL_BACKEND_TRACEPOINT, NULL);
        (void) asprintf(&b->reason, "%s; %s", strna(lsm_reason), fmod_reason);
        return 0;
}

int fl_bpf_setup(const char *pin_path, int choice, int profile, const FlOptions *opts, FlBpf **ret) {
        _cleanup_(fl_bpf_freep) FlBpf *b = NULL;
        struct stat st;
        int r;

        libbpf_set_print(libbpf_print);

        r = check_prerequisites();
        if (r < 0)
                return r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return log_oom();
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                b->map_fds[i] = -1;
        b->ctl_fd = b->tamper_fd = -1;
        b->pin_path = strdup(pin_path);
        if (!b->pin_path)
                return log_oom();

        r = pin_dir_prepare(pin_path);
        if (r < 0)
                return r;

        find_shm_mounts(b);
        b->cgroup_root_id = opts->cgroup_root_id;
        /* Without it only the initial pid namespace is the host side: the
         * safe way to be wrong. */
        if (stat("/proc/self/ns/pid", &st) == 0)
                b->pidns_inum = (uint32_t) st.st_ino;
        else
                log_warning_errno(errno, "Failed to read our pid namespace (%m): baseline and trusted executables "
                                         "treat only the initial pid namespace as the host side.");

        /* Sealed: the frozen maps are not ours to open or write any more;
         * the profile and scopes asked for are the manager's to apply. */
        r = fl_seal_takeover(b);
        if (r == 0)
                r = fl_bpf_try_takeover(b, choice, profile, opts);
        if (r < 0)
                return r;
        if (r > 0 && b->sealed)
                log_info("Took over the sealed %s programs pinned in %s: sealed until reboot.",
                         backend_to_string(b->backend), pin_path);
        else if (r > 0) {
                log_info("Took over the %s programs pinned in %s: enforcement never stopped.",
                         backend_to_string(b->backend), pin_path);
                unpin_stale_links(b);
        } else {
                r = load_any(b, choice, profile, opts);
                if (r < 0)
                        return r;
                log_info("Using backend %s: %s.", backend_to_string(b->backend), strna(b->reason));
                r = pin_all(b);
                if (r < 0)
                        return r;
        }

        b->sees_mappings = b->backend != FL_BACKEND_TRACEPOINT || opts->tracepoint_mappings;
        b->sees_prepare_exec = b->backend != FL_BACKEND_TRACEPOINT ||
                               libbpf_find_vmlinux_btf_id("sched_prepare_exec", BPF_TRACE_RAW_TP) > 0;
        *ret = TAKE_PTR(b);
        return 0;
}

FlBpf *fl_bpf_free(FlBpf *b) {
        if (!b)
                return NULL;
        fl_bpf_fds_close(b);
        closep(&b->ctl_fd);
        closep(&b->tamper_fd);
        free(b->pin_path);
        free(b->reason);
        free(b);
        return NULL;
}

int fl_bpf_get_profile(FlBpf *b) {
        struct fl_config c;
        int r;

        if (b->sealed)
                return fl_seal_get_profile(b);
        r = fl_config_read(b->map_fds[FL_MAP_CONFIG], &c);
        return r < 0 ? r : (int) c.profile;
}

int fl_bpf_set_profile(FlBpf *b, int profile) {
        struct fl_config c;
        int r;

        if (b->sealed)
                return fl_seal_set_profile(b, profile);
        r = fl_config_read(b->map_fds[FL_MAP_CONFIG], &c);
        if (r < 0)
                return r;
        c.profile = profile;
        r = fl_config_write(b->map_fds[FL_MAP_CONFIG], &c);
        if (r < 0)
                return r;
        /* Only what the kernel reads back counts as applied. */
        r = fl_bpf_get_profile(b);
        if (r < 0)
                return r;
        return r == profile ? 0 : -EIO;
}

int fl_bpf_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX]) {
        if (b->sealed)
                return fl_seal_read_stats(b, ret, NULL);
        for (uint32_t i = 0; i < _FL_STAT_MAX; i++)
                if (bpf_map_lookup_elem(b->map_fds[FL_MAP_STATS], &i, &ret[i]) < 0)
                        return -errno;
        return 0;
}

static int pin_matches(const char *dir, const char *name, int fd) {
        _cleanup_close_ int pinned = pin_open(dir, name);

        return pinned >= 0 && bpf_object_id(pinned) == bpf_object_id(fd);
}

int fl_bpf_pins_intact(FlBpf *b) {
        if (b->sealed)
                return fl_seal_pins_intact(b);
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                if (!pin_matches(b->pin_path, map_pin_names[i], b->map_fds[i]))
                        return 0;
        for (size_t i = 0; i < b->n_links; i++)
                if (!pin_matches(b->pin_path, b->link_names[i], b->link_fds[i]))
                        return 0;
        return 1;
}

/* A link is detached once its last reference is gone, which the kernel
 * completes from a work queue, slowly under emulation: it drops the link's id
 * first, detaches, then drops the program, so wait until the programs are
 * gone too. Then "removed" means "no longer enforcing"; or say who still
 * holds something. IDS holds link ids and program ids alike. */
static int objects_wait_gone(const uint32_t *ids, const bool *is_link, size_t n) {
        int left = 0;

        for (int tries = 0; tries < 200; tries++) {
                left = 0;
                for (size_t i = 0; i < n; i++) {
                        int fd = is_link[i] ? bpf_link_get_fd_by_id(ids[i]) : bpf_prog_get_fd_by_id(ids[i]);

                        if (fd >= 0) {
                                close(fd);
                                left++;
                        }
                }
                if (left == 0)
                        return 0;
                usleep(50 * 1000);
        }
        return left;
}

/* The ids of the link pinned at FD and of its program. */
static size_t link_ids(int fd, uint32_t *ids, bool *is_link) {
        struct bpf_link_info li = {};
        uint32_t len = sizeof(li);

        if (bpf_obj_get_info_by_fd(fd, &li, &len) < 0)
                return 0;
        ids[0] = li.id, is_link[0] = true;
        ids[1] = li.prog_id, is_link[1] = false;
        return 2;
}

int fl_bpf_unpin(const char *pin_path) {
        _cleanup_(closedirp) DIR *d = opendir(pin_path);
        uint32_t ids[FL_LINKS_MAX * 4];
        bool is_link[FL_LINKS_MAX * 4];
        size_t n_ids = 0;
        struct dirent *de;
        bool any = false;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", pin_path);

        /* The links first: with them gone, the programs are detached as soon as
         * no process holds them, even if removing the rest failed. */
        for (int pass = 0; pass < 2; pass++) {
                rewinddir(d);
                while ((de = readdir(d))) {
                        bool link = strncmp(de->d_name, "link", 4) == 0;
                        int fd;

                        if (de->d_name[0] == '.' || link != (pass == 0))
                                continue;
                        if (link && n_ids + 2 <= ELEMENTSOF(ids) && (fd = pin_open(pin_path, de->d_name)) >= 0) {
                                n_ids += link_ids(fd, ids + n_ids, is_link + n_ids);
                                close(fd);
                        }
                        r = pin_remove(pin_path, de->d_name);
                        if (r < 0)
                                return r;
                        any = any || r > 0;
                }
        }
        if (rmdir(pin_path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", pin_path);
        r = objects_wait_gone(ids, is_link, n_ids);
        if (r > 0)
                log_warning("Some of the unpinned programs are still attached: a running filelesslockd (or another "
                            "process) holds them, and enforcement goes on until it exits.");
        return any ? 1 + (r > 0) : 0;
}
