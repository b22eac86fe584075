/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "bpf-loader.h"
#include "fileless-lsm.skel.h"
#include "fileless-tp.skel.h"
#include "log.h"
#include "names.h"
#include "util.h"

#define PIN_CONFIG "config"
#define PIN_STATS "stats"
#define PIN_EVENTS "events"
#define PIN_LINK "link"

typedef struct BackendInfo {
        int backend;
        const char *program;
        const void *(*elf_bytes)(size_t *sz);
} BackendInfo;

static const BackendInfo backend_info[] = {
        { FL_BACKEND_LSM, "fl_bprm_check", fileless_lsm_bpf__elf_bytes },
        { FL_BACKEND_TRACEPOINT, "fl_sched_exec", fileless_tp_bpf__elf_bytes },
};

static const BackendInfo *backend_info_get(int backend) {
        for (size_t i = 0; i < ELEMENTSOF(backend_info); i++)
                if (backend_info[i].backend == backend)
                        return &backend_info[i];
        return NULL;
}

static int pin_file(const FlBpf *b, const char *name, char **ret) {
        return asprintf(ret, "%s/%s", b->pin_path, name) < 0 ? -ENOMEM : 0;
}

static int obj_get_pinned(const FlBpf *b, const char *name) {
        _cleanup_free_ char *p = NULL;
        int fd;

        if (pin_file(b, name, &p) < 0)
                return -ENOMEM;
        fd = bpf_obj_get(p);
        return fd < 0 ? -errno : fd;
}

/* Pins under a temporary name (bpffs refuses dots in names) and renames over the final one, so that a
 * reader never finds a half-written set and an older pin is replaced in one
 * step. */
static int obj_pin(const FlBpf *b, int fd, const char *name) {
        _cleanup_free_ char *p = NULL, *tmp = NULL;

        if (pin_file(b, name, &p) < 0 || asprintf(&tmp, "%s_new", p) < 0)
                return -ENOMEM;
        (void) unlink(tmp);
        if (bpf_obj_pin(fd, tmp) < 0)
                return log_error_errno(errno, "Failed to pin %s: %m", tmp);
        if (rename(tmp, p) < 0) {
                int r = -errno;

                (void) unlink(tmp);
                return log_error_errno(r, "Failed to rename %s to %s: %m", tmp, p);
        }
        return 0;
}

/* Creates the pin directory below an existing bpffs mount. */
static int pin_dir_prepare(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        struct statfs sfs;
        char *slash;

        if (!p)
                return log_oom();
        if (path[0] != '/')
                return log_error_errno(EINVAL, "Pin path \"%s\" is not absolute.", path);

        /* Find the deepest existing ancestor and check it is bpffs before
         * creating anything, so a typo never litters another filesystem. */
        for (;;) {
                if (statfs(p, &sfs) >= 0)
                        break;
                if (errno != ENOENT)
                        return log_error_errno(errno, "Failed to look at %s: %m", p);
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return log_error_errno(ENOENT, "No bpf filesystem above %s.", path);
                *slash = 0;
        }
        if (sfs.f_type != BPF_FS_MAGIC)
                return log_error_errno(ENOTDIR,
                                       "%s is not on a bpf filesystem: is bpffs mounted at /sys/fs/bpf? "
                                       "(mount -t bpf bpf /sys/fs/bpf)", p);

        /* Now create the missing components, top down. */
        free(p);
        p = strdup(path);
        if (!p)
                return log_oom();
        for (char *s = p + 1;; s++) {
                bool end = *s == 0;

                if (*s != '/' && !end)
                        continue;
                *s = 0;
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", p);
                if (end)
                        break;
                *s = '/';
        }
        return 0;
}

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

static struct fl_config config_make(const FlBpf *b, int backend, int profile) {
        struct fl_config c = {
                .abi = FL_ABI_VERSION,
                .profile = profile,
                .backend = backend,
                .n_shm_devs = b->shm_devs_n,
        };

        memcpy(c.shm_devs, b->shm_devs, sizeof(c.shm_devs));
        return c;
}

static int config_read(int fd, struct fl_config *ret) {
        uint32_t zero = 0;

        return bpf_map_lookup_elem(fd, &zero, ret) < 0 ? -errno : 0;
}

static int config_write(int fd, const struct fl_config *c) {
        uint32_t zero = 0;

        return bpf_map_update_elem(fd, &zero, c, BPF_ANY) < 0 ? -errno : 0;
}

static void fds_close(FlBpf *b) {
        closep(&b->config_fd);
        closep(&b->stats_fd);
        closep(&b->events_fd);
        closep(&b->link_fd);
        b->config_fd = b->stats_fd = b->events_fd = b->link_fd = -1;
}

/* Is the pinned link's program the one that reads the pinned config map? A
 * set pieced together from two instances must not be trusted. */
static bool link_uses_map(int link_fd, int map_fd) {
        struct bpf_link_info li = {};
        struct bpf_prog_info pi = {};
        struct bpf_map_info mi = {};
        uint32_t map_ids[16], len;
        _cleanup_close_ int prog_fd = -1;

        len = sizeof(li);
        if (bpf_obj_get_info_by_fd(link_fd, &li, &len) < 0)
                return false;
        len = sizeof(mi);
        if (bpf_obj_get_info_by_fd(map_fd, &mi, &len) < 0)
                return false;
        prog_fd = bpf_prog_get_fd_by_id(li.prog_id);
        if (prog_fd < 0)
                return false;
        pi.nr_map_ids = ELEMENTSOF(map_ids);
        pi.map_ids = (uint64_t) (uintptr_t) map_ids;
        len = sizeof(pi);
        if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len) < 0)
                return false;
        for (uint32_t i = 0; i < pi.nr_map_ids && i < ELEMENTSOF(map_ids); i++)
                if (map_ids[i] == mi.id)
                        return true;
        return false;
}

/* Returns 1 if an earlier instance's pins were taken over, 0 if there is
 * nothing (usable) to take over. */
static int try_reuse(FlBpf *b, int choice, int profile) {
        struct fl_config c;
        int r;

        b->config_fd = obj_get_pinned(b, PIN_CONFIG);
        if (b->config_fd == -ENOENT)
                return 0;
        if (b->config_fd < 0)
                return log_error_errno(b->config_fd, "Failed to open pinned %s/" PIN_CONFIG ": %m", b->pin_path);

        r = config_read(b->config_fd, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to read pinned configuration: %m");
        if (c.abi != FL_ABI_VERSION) {
                log_notice("Pinned programs have ABI version %u, this daemon %u: replacing them.", c.abi, FL_ABI_VERSION);
                goto replace;
        }
        if (choice != FL_BACKEND_CHOICE_AUTO && (int) c.backend != choice) {
                log_notice("Pinned programs use backend %s, %s was requested: replacing them.",
                           strna(backend_to_string(c.backend)), backend_to_string(choice));
                goto replace;
        }
        b->link_fd = obj_get_pinned(b, PIN_LINK);
        b->stats_fd = obj_get_pinned(b, PIN_STATS);
        b->events_fd = obj_get_pinned(b, PIN_EVENTS);
        if (b->link_fd < 0 || b->stats_fd < 0 || b->events_fd < 0 || !link_uses_map(b->link_fd, b->config_fd)) {
                log_notice("Pins in %s are incomplete or inconsistent: replacing them.", b->pin_path);
                goto replace;
        }

        c = config_make(b, c.backend, profile);
        r = config_write(b->config_fd, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to apply profile to pinned programs: %m");

        b->backend = c.backend;
        b->reused = true;
        return 1;

replace:
        fds_close(b);
        return 0;
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

static int load_and_attach(FlBpf *b, int backend, int profile) {
        const BackendInfo *info = backend_info_get(backend);
        struct bpf_object *obj = NULL;
        struct bpf_link *link = NULL;
        struct bpf_program *prog;
        struct fl_config c;
        const void *bytes;
        size_t size;
        int r;

        bytes = info->elf_bytes(&size);
        obj = bpf_object__open_mem(bytes, size, NULL);
        if (!obj)
                return -errno;

        r = bpf_object__load(obj);
        if (r < 0)
                goto finish;

        b->config_fd = fcntl(bpf_map__fd(bpf_object__find_map_by_name(obj, "fl_config")), F_DUPFD_CLOEXEC, 3);
        b->stats_fd = fcntl(bpf_map__fd(bpf_object__find_map_by_name(obj, "fl_stats")), F_DUPFD_CLOEXEC, 3);
        b->events_fd = fcntl(bpf_map__fd(bpf_object__find_map_by_name(obj, "fl_events")), F_DUPFD_CLOEXEC, 3);
        if (b->config_fd < 0 || b->stats_fd < 0 || b->events_fd < 0) {
                r = -errno;
                goto finish;
        }

        /* The profile is in the map before the program can run. */
        c = config_make(b, backend, profile);
        r = config_write(b->config_fd, &c);
        if (r < 0)
                goto finish;

        prog = bpf_object__find_program_by_name(obj, info->program);
        link = bpf_program__attach(prog);
        if (!link) {
                r = -errno;
                goto finish;
        }
        b->link_fd = fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 3);
        if (b->link_fd < 0)
                r = -errno;

finish:
        bpf_link__destroy(link); /* only closes libbpf's fd: ours keeps the link */
        bpf_object__close(obj);
        if (r < 0)
                fds_close(b);
        else
                b->backend = backend;
        return r;
}

static int pin_all(FlBpf *b) {
        int r;

        /* Maps first, the link last: a pinned link is the sign of a complete set,
         * and renaming it over an older one detaches that one only now that the
         * new program is already attached. */
        if ((r = obj_pin(b, b->config_fd, PIN_CONFIG)) < 0 || (r = obj_pin(b, b->stats_fd, PIN_STATS)) < 0 ||
            (r = obj_pin(b, b->events_fd, PIN_EVENTS)) < 0 || (r = obj_pin(b, b->link_fd, PIN_LINK)) < 0)
                return r;
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
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (streq(t, "bpf"))
                        return 1;
        (void) asprintf(ret_reason, "the kernel's active LSMs (%s) do not include bpf", buf);
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
static int explain_load_error(int r, const char *what, const char *context) {
        log_error_errno(r, "The kernel refused %s: %m%s%s (SYSTEMD_LOG_LEVEL=debug shows libbpf's log).", what,
                        context ? "; " : "", strempty(context));
        return -EOPNOTSUPP;
}

int fl_bpf_setup(const char *pin_path, int choice, int profile, FlBpf **ret) {
        _cleanup_free_ char *reason = NULL;
        FlBpf *b;
        int r;

        libbpf_set_print(libbpf_print);

        r = check_prerequisites();
        if (r < 0)
                return r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return log_oom();
        b->config_fd = b->stats_fd = b->events_fd = b->link_fd = -1;
        b->pin_path = strdup(pin_path);
        if (!b->pin_path) {
                r = log_oom();
                goto fail;
        }

        r = pin_dir_prepare(pin_path);
        if (r < 0)
                goto fail;

        find_shm_mounts(b);

        r = try_reuse(b, choice, profile);
        if (r < 0)
                goto fail;
        if (r > 0) {
                log_info("Took over the %s programs pinned in %s: enforcement never stopped.",
                         backend_to_string(b->backend), pin_path);
                *ret = b;
                return 0;
        }

        if (choice == FL_BACKEND_CHOICE_LSM) {
                /* Asked for explicitly: try even if securityfs cannot tell, but
                 * never fall back to something else. */
                (void) lsm_active(&reason);
                r = load_and_attach(b, FL_BACKEND_LSM, profile);
                if (r < 0) {
                        r = explain_load_error(r, "the BPF LSM program (backend lsm)", reason);
                        goto fail;
                }
                free(reason);
                reason = strdup("requested");
        } else if (choice == FL_BACKEND_CHOICE_AUTO && lsm_active(&reason) > 0) {
                r = load_and_attach(b, FL_BACKEND_LSM, profile);
                if (r >= 0)
                        reason = strdup("the BPF LSM is active");
                else
                        (void) asprintf(&reason, "the BPF LSM is listed as active but its program failed to load (%s)",
                                        strerror(-r));
        }

        if (b->link_fd < 0) {
                if (choice == FL_BACKEND_CHOICE_TRACEPOINT) {
                        free(reason);
                        reason = strdup("requested");
                }
                r = load_and_attach(b, FL_BACKEND_TRACEPOINT, profile);
                if (r < 0) {
                        r = explain_load_error(r, "the sched_process_exec tracepoint program (backend tracepoint)",
                                               NULL);
                        goto fail;
                }
        }

        log_info("Using backend %s: %s.", backend_to_string(b->backend), strna(reason));

        r = pin_all(b);
        if (r < 0)
                goto fail;

        *ret = b;
        return 0;

fail:
        fl_bpf_free(b);
        return r;
}

FlBpf *fl_bpf_free(FlBpf *b) {
        if (!b)
                return NULL;
        fds_close(b);
        free(b->pin_path);
        free(b);
        return NULL;
}

int fl_bpf_set_profile(FlBpf *b, int profile) {
        struct fl_config c;
        int r;

        r = config_read(b->config_fd, &c);
        if (r < 0)
                return r;
        c.profile = profile;
        return config_write(b->config_fd, &c);
}

int fl_bpf_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX]) {
        for (uint32_t i = 0; i < _FL_STAT_MAX; i++)
                if (bpf_map_lookup_elem(b->stats_fd, &i, &ret[i]) < 0)
                        return -errno;
        return 0;
}

int fl_bpf_check_pins(FlBpf *b) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (pin_file(b, PIN_LINK, &p) < 0)
                return -ENOMEM;
        return stat(p, &st) < 0 ? -errno : 0;
}

int fl_bpf_unpin(const char *pin_path) {
        static const char *const names[] = { PIN_LINK, PIN_CONFIG, PIN_STATS, PIN_EVENTS };
        bool any = false;

        /* The link first: with it gone, the program is detached as soon as no
         * process holds it, even if removing the rest failed. */
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = NULL, *tmp = NULL;

                if (asprintf(&p, "%s/%s", pin_path, names[i]) < 0 || asprintf(&tmp, "%s_new", p) < 0)
                        return log_oom();
                (void) unlink(tmp);
                if (unlink(p) < 0) {
                        if (errno != ENOENT)
                                return log_error_errno(errno, "Failed to remove %s: %m", p);
                } else
                        any = true;
        }
        if (rmdir(pin_path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", pin_path);
        return any;
}
