/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sealed mode, the kernel side: loading and pinning the guard, freezing the
 * maps, and everything the loader does once they are frozen, through
 * fl_seal_ctl (bpf/fileless-guard.bpf.c). */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "bpf-objects.h"
#include "bpf-pins.h"
#include "bpf-seal.h"
#include "fileless-guard-fmod.skel.h"
#include "fileless-guard-lsm.skel.h"
#include "log.h"
#include "names.h"

#define PIN_CTL "seal_ctl"
#define PIN_GUARD "guard"
#define PIN_TAMPER "tamper"
#define PIN_TAMPER_STATS "tamper_stats"
#define GUARD_LINK_PREFIX "guard_link_"
#define PIN_CTL_PROG "fl_seal_ctl"
#define GUARD_LINKS_MAX 12

static const char *const tamper_level_table[_FL_TAMPER_LEVEL_MAX] = {
        [FL_TAMPER_NONE] = "none",
        [FL_TAMPER_EVIDENT] = "evident",
        [FL_TAMPER_DENIED] = "denied",
};

static const char *const tamper_op_table[_FL_TAMPER_OP_MAX] = {
        [FL_TAMPER_MAP_FD] = "map-fd",
        [FL_TAMPER_PROG_FD] = "prog-fd",
        [FL_TAMPER_LINK_FD] = "link-fd",
        [FL_TAMPER_MAP_WRITE] = "map-write",
        [FL_TAMPER_UNLINK] = "unlink",
        [FL_TAMPER_RMDIR] = "rmdir",
        [FL_TAMPER_RENAME] = "rename",
        [FL_TAMPER_UMOUNT] = "umount",
        [FL_TAMPER_KILL] = "kill",
        [FL_TAMPER_PTRACE] = "ptrace",
        [FL_TAMPER_LOOSEN] = "loosen",
        [FL_TAMPER_DISABLE] = "disable",
        [FL_TAMPER_PINS_GONE] = "pins-gone",
};

const char *tamper_level_to_string(int level) {
        return level >= 0 && level < _FL_TAMPER_LEVEL_MAX ? tamper_level_table[level] : NULL;
}

const char *tamper_op_to_string(int op) {
        return op >= 0 && op < _FL_TAMPER_OP_MAX ? tamper_op_table[op] : NULL;
}

/* Runs fl_seal_ctl: its return (0 or a negative errno) or the syscall's. */
static int ctl_run(int fd, struct fl_seal_ctl *c) {
        LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = c, .ctx_size_in = sizeof(*c));

        if (bpf_prog_test_run_opts(fd, &o) < 0)
                return -errno;
        return (int) o.retval;
}

int fl_seal_query(const char *pin_path, struct fl_seal_ctl *ret) {
        _cleanup_close_ int fd = pin_open(pin_path, PIN_CTL);
        int r;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        *ret = (struct fl_seal_ctl) { .op = FL_SEAL_CTL_QUERY };
        r = ctl_run(fd, ret);
        return r < 0 ? r : ret->sealed != 0;
}

/* One of the two guard skeletons, seen through its bpf_object. */
typedef struct Guard {
        void *skel;
        void (*destroy)(void *skel);
        struct bpf_object *obj;
} Guard;

static void guard_done(Guard *g) {
        if (g->skel)
                g->destroy(g->skel);
        *g = (Guard) {};
}

#define DEFINE_GUARD_OPEN(name)                                                                      \
        static void name##_destroy_any(void *p) {                                                    \
                name##__destroy(p);                                                                  \
        }                                                                                            \
        static int name##_open_guard(Guard *g) {                                                     \
                struct name *s = name##__open();                                                     \
                                                                                                     \
                if (!s)                                                                              \
                        return -errno;                                                               \
                *g = (Guard) { .skel = s, .destroy = name##_destroy_any, .obj = s->obj };            \
                return 0;                                                                            \
        }

DEFINE_GUARD_OPEN(fileless_guard_lsm_bpf)
DEFINE_GUARD_OPEN(fileless_guard_fmod_bpf)

/* The maps this object shares with the enforcement object, by the name both
 * give them. */
static const char *const shared_map_names[_FL_MAP_MAX] = {
        [FL_MAP_CONFIG] = "fl_config",   [FL_MAP_STATS] = "fl_stats",     [FL_MAP_EVENTS] = "fl_events",
        [FL_MAP_SCOPES] = "fl_scopes",   [FL_MAP_TRUSTED] = "fl_trusted",
};

/* The maps nobody may have a new fd of once sealed, and frozen. */
static const FlMap frozen_maps[] = { FL_MAP_CONFIG, FL_MAP_STATS, FL_MAP_SCOPES, FL_MAP_TRUSTED };

static int add_id(uint32_t *ids, uint32_t *n, uint32_t id) {
        if (id == 0)
                return -EBADF;
        if (*n >= FL_GUARD_IDS_MAX)
                return -E2BIG;
        ids[(*n)++] = id;
        return 0;
}

/* The pin directory and its ancestors on the same bpffs. */
static int fill_inodes(const char *pin_path, struct fl_guard_state *s) {
        _cleanup_free_ char *p = strdup(pin_path);
        struct stat st;
        dev_t dev;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return -errno;
        dev = st.st_dev;
        s->bpffs_dev = kdev_from_major_minor(major(dev), minor(dev));
        for (;;) {
                char *slash;

                if (stat(p, &st) < 0 || st.st_dev != dev || s->n_inos >= FL_GUARD_INOS_MAX)
                        break;
                s->inos[s->n_inos++] = st.st_ino;
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        break;
                *slash = 0;
        }
        return 0;
}

/* The object's own maps pinned for takeover (map_*, bpf-objects.c): nobody
 * gets a new fd of them once sealed either, since a writer of the trust
 * marks could grant trust. */
static int add_aux_map_ids(const char *pin_path, struct fl_guard_state *s) {
        _cleanup_(closedirp) DIR *d = opendir(pin_path);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                _cleanup_close_ int fd = -1;
                int r;

                if (strncmp(de->d_name, "map_", 4) != 0)
                        continue;
                if (asprintf(&p, "%s/%s", pin_path, de->d_name) < 0)
                        return -ENOMEM;
                fd = bpf_obj_get(p);
                if (fd < 0)
                        return -errno;
                r = add_id(s->map_ids, &s->n_map_ids, bpf_object_id(fd));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int prog_id_of_link(int link_fd) {
        struct bpf_link_info li = {};
        uint32_t len = sizeof(li);

        return bpf_obj_get_info_by_fd(link_fd, &li, &len) < 0 ? 0 : (int) li.prog_id;
}

int fl_bpf_seal(FlBpf *b) {
        _cleanup_(guard_done) Guard g = {};
        struct fl_guard_state s = {};
        struct bpf_program *prog;
        int guard_links[GUARD_LINKS_MAX];
        size_t n_guard_links = 0;
        bool hooks = b->backend != FL_BACKEND_TRACEPOINT;
        struct timespec ts;
        uint32_t zero = 0;
        int r, fd;

        if (b->sealed)
                return 0;

        r = b->backend == FL_BACKEND_FMOD_RET ? fileless_guard_fmod_bpf_open_guard(&g)
                                              : fileless_guard_lsm_bpf_open_guard(&g);
        if (r < 0)
                return log_error_errno(r, "Failed to open the guard object: %m");
        for (size_t i = 0; i < _FL_MAP_MAX; i++) {
                struct bpf_map *m = bpf_object__find_map_by_name(g.obj, shared_map_names[i]);

                if (!m || bpf_map__reuse_fd(m, b->map_fds[i]) < 0)
                        return log_error_errno(m ? errno : ENOENT, "Failed to share map %s with the guard: %m",
                                               shared_map_names[i]);
        }
        /* Nothing can deny on the tracepoint backend: there only the maps
         * are frozen and fl_seal_ctl tightens. */
        bpf_object__for_each_program(prog, g.obj)
                if (!hooks && !streq(bpf_program__name(prog), PIN_CTL_PROG))
                        (void) bpf_program__set_autoload(prog, false);
        if (bpf_object__load(g.obj) < 0)
                return log_error_errno(errno, "The kernel refused the guard programs: %m "
                                              "(SYSTEMD_LOG_LEVEL=debug shows libbpf's log).");

        /* Attached first, while the state says unsealed and they let
         * everything pass: their links get ids we can list. */
        bpf_object__for_each_program(prog, g.obj) {
                struct bpf_link *link;

                if (!bpf_program__autoload(prog) || streq(bpf_program__name(prog), PIN_CTL_PROG))
                        continue;
                if (n_guard_links >= GUARD_LINKS_MAX) {
                        r = log_error_errno(E2BIG, "Too many guard programs.");
                        goto fail;
                }
                link = bpf_program__attach(prog);
                if (!link) {
                        r = log_error_errno(errno, "Failed to attach guard program %s: %m",
                                            bpf_program__name(prog));
                        goto fail;
                }
                guard_links[n_guard_links] = fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 3);
                bpf_link__destroy(link);
                if (guard_links[n_guard_links] < 0) {
                        r = -errno;
                        goto fail;
                }
                n_guard_links++;
                r = add_id(s.prog_ids, &s.n_prog_ids, bpf_object_id(bpf_program__fd(prog)));
                if (r >= 0)
                        r = add_id(s.link_ids, &s.n_link_ids, bpf_object_id(guard_links[n_guard_links - 1]));
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < ELEMENTSOF(frozen_maps); i++)
                if ((r = add_id(s.map_ids, &s.n_map_ids, bpf_object_id(b->map_fds[frozen_maps[i]]))) < 0)
                        goto fail;
        if ((r = add_id(s.map_ids, &s.n_map_ids,
                        bpf_object_id(bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_guard"))))) < 0 ||
            (r = add_id(s.map_ids, &s.n_map_ids,
                        bpf_object_id(bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_tamper_stats"))))) < 0)
                goto fail;
        r = add_aux_map_ids(b->pin_path, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to list the map_* pins in %s for the guard: %m", b->pin_path);
                goto fail;
        }
        for (size_t i = 0; i < b->n_links; i++)
                if ((r = add_id(s.prog_ids, &s.n_prog_ids, prog_id_of_link(b->link_fds[i]))) < 0 ||
                    (r = add_id(s.link_ids, &s.n_link_ids, bpf_object_id(b->link_fds[i]))) < 0)
                        goto fail;

        r = fill_inodes(b->pin_path, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to look at %s: %m", b->pin_path);
                goto fail;
        }
        clock_gettime(CLOCK_BOOTTIME, &ts);
        s.sealed_at = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        s.level = hooks ? FL_TAMPER_DENIED : FL_TAMPER_EVIDENT;
        s.sealed = 1;

        /* Pinned while nothing guards them yet; then frozen, the state last:
         * from the moment it says sealed the guard denies. */
        if ((r = pin_object(b->pin_path, PIN_CTL,
                            bpf_program__fd(bpf_object__find_program_by_name(g.obj, PIN_CTL_PROG)))) < 0 ||
            (r = pin_object(b->pin_path, PIN_GUARD, bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_guard")))) <
                    0 ||
            (r = pin_object(b->pin_path, PIN_TAMPER,
                            bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_tamper")))) < 0 ||
            (r = pin_object(b->pin_path, PIN_TAMPER_STATS,
                            bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_tamper_stats")))) < 0)
                goto fail;
        for (size_t i = 0; i < n_guard_links; i++) {
                _cleanup_free_ char *name = NULL;

                if (asprintf(&name, GUARD_LINK_PREFIX "%zu", i) < 0) {
                        r = log_oom();
                        goto fail;
                }
                if ((r = pin_object(b->pin_path, name, guard_links[i])) < 0)
                        goto fail;
        }

        for (size_t i = 0; i < ELEMENTSOF(frozen_maps); i++)
                if (bpf_map_freeze(b->map_fds[frozen_maps[i]]) < 0) {
                        r = log_error_errno(errno, "Failed to freeze map %s: %m", map_pin_names[frozen_maps[i]]);
                        goto fail;
                }
        fd = bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_tamper_stats"));
        if (bpf_map_freeze(fd) < 0) {
                r = log_error_errno(errno, "Failed to freeze the tamper counter: %m");
                goto fail;
        }
        fd = bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_guard"));
        if (bpf_map_update_elem(fd, &zero, &s, BPF_ANY) < 0 || bpf_map_freeze(fd) < 0) {
                r = log_error_errno(errno, "Failed to write the sealed state: %m");
                goto fail;
        }

        b->ctl_fd = fcntl(bpf_program__fd(bpf_object__find_program_by_name(g.obj, PIN_CTL_PROG)), F_DUPFD_CLOEXEC, 3);
        /* Who the daemon is, as the kernel sees our executable. */
        r = ctl_run(b->ctl_fd, &(struct fl_seal_ctl) { .op = FL_SEAL_CTL_REGISTER });
        if (r < 0)
                log_warning_errno(r, "Failed to register filelesslockd with the guard (%m): sealed, but its process "
                                      "is not protected from signals and ptrace.");
        b->tamper_fd = fcntl(bpf_map__fd(bpf_object__find_map_by_name(g.obj, "fl_tamper")), F_DUPFD_CLOEXEC, 3);
        b->sealed = true;
        b->tamper_level = s.level;
        /* From here on the same as after a restart: no fd of a frozen map. */
        for (size_t i = 0; i < ELEMENTSOF(frozen_maps); i++)
                closep(&b->map_fds[frozen_maps[i]]), b->map_fds[frozen_maps[i]] = -1;
        r = 0;
fail:
        for (size_t i = 0; i < n_guard_links; i++)
                close(guard_links[i]);
        if (r < 0 && !b->sealed)
                log_error("Sealing failed: what was done of it stays until reboot (frozen maps cannot be thawed).");
        return r;
}

int fl_seal_takeover(FlBpf *b) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct fl_seal_ctl q;
        struct dirent *de;
        int r;

        r = fl_seal_query(b->pin_path, &q);
        if (r <= 0)
                return r;
        if (!backend_to_string((int) q.backend))
                return log_error_errno(EBADMSG, "The sealed pins in %s name backend %u, which does not exist.",
                                       b->pin_path, q.backend);
        b->ctl_fd = pin_open(b->pin_path, PIN_CTL);
        b->map_fds[FL_MAP_EVENTS] = pin_open(b->pin_path, map_pin_names[FL_MAP_EVENTS]);
        b->tamper_fd = pin_open(b->pin_path, PIN_TAMPER);
        if (b->ctl_fd < 0 || b->map_fds[FL_MAP_EVENTS] < 0 || b->tamper_fd < 0)
                return log_error_errno(b->ctl_fd < 0 ? b->ctl_fd : b->map_fds[FL_MAP_EVENTS] < 0 ?
                                       b->map_fds[FL_MAP_EVENTS] : b->tamper_fd,
                                       "Failed to open the sealed pins in %s: %m", b->pin_path);

        /* The links, as pinned: the guard keeps anybody from replacing them
         * (on the tracepoint backend only the checks of the pins notice). */
        d = opendir(b->pin_path);
        if (!d)
                return log_error_errno(errno, "Failed to open %s: %m", b->pin_path);
        while ((de = readdir(d)) && b->n_links < FL_LINKS_MAX) {
                int fd;

                if (strncmp(de->d_name, "link_", 5) != 0)
                        continue;
                fd = pin_open(b->pin_path, de->d_name);
                if (fd < 0)
                        return log_error_errno(fd, "Failed to open the pinned link %s: %m", de->d_name);
                b->link_fds[b->n_links] = fd;
                b->link_names[b->n_links] = strdup(de->d_name);
                if (!b->link_names[b->n_links++])
                        return log_oom();
        }
        b->backend = (int) q.backend;
        b->sealed = true;
        b->tamper_level = (int) q.level;
        b->reused = true;
        return 1;
}

static int ctl(FlBpf *b, struct fl_seal_ctl *c) {
        return ctl_run(b->ctl_fd, c);
}

static int query(FlBpf *b, struct fl_seal_ctl *ret) {
        *ret = (struct fl_seal_ctl) { .op = FL_SEAL_CTL_QUERY };
        return ctl(b, ret);
}

int fl_seal_get_profile(FlBpf *b) {
        struct fl_seal_ctl q;
        int r = query(b, &q);

        return r < 0 ? r : (int) q.profile;
}

int fl_seal_set_profile(FlBpf *b, int profile) {
        struct fl_seal_ctl c = { .op = FL_SEAL_CTL_PROFILE, .profile = profile };
        int r = ctl(b, &c);

        if (r < 0)
                return r;
        r = fl_seal_get_profile(b);
        return r < 0 ? r : r == profile ? 0 : -EIO;
}

static int scope_name_set(struct fl_seal_ctl *c, const char *unit) {
        struct fl_scope_key k;
        int r = fl_scope_key(unit, &k);

        if (r >= 0)
                memcpy(c->name, k.name, sizeof(c->name));
        return r;
}

static int scope_get(FlBpf *b, const char *unit, struct fl_seal_ctl *ret) {
        int r;

        *ret = (struct fl_seal_ctl) { .op = FL_SEAL_CTL_SCOPE_GET };
        r = scope_name_set(ret, unit);
        return r < 0 ? r : ctl(b, ret);
}

int fl_seal_get_scope(FlBpf *b, const char *unit) {
        struct fl_seal_ctl c;

        return scope_get(b, unit, &c) < 0 ? 0 : (int) c.profile;
}

int fl_seal_set_scope(FlBpf *b, const char *unit, int profile) {
        struct fl_seal_ctl c;
        int r;

        if (profile <= 0)
                return -EPERM; /* a removal is a loosening */
        r = scope_get(b, unit, &c);
        if (r < 0)
                return r;
        if (c.id == 0) {
                /* Never an id in use: an event in the ring buffer names its scope by id. */
                struct fl_seal_ctl q;

                r = query(b, &q);
                if (r < 0)
                        return r;
                c.id = MAX(b->scope_next_id, q.id + 1);
                b->scope_next_id = c.id + 1;
        }
        c.op = FL_SEAL_CTL_SCOPE_SET;
        c.profile = profile;
        r = ctl(b, &c);
        return r < 0 ? r : (int) c.id;
}

char *fl_seal_scope_name(FlBpf *b, uint32_t id) {
        struct fl_seal_ctl c = { .op = FL_SEAL_CTL_SCOPE_NAME, .id = id };

        if (ctl(b, &c) < 0)
                return NULL;
        return strndup(c.name, sizeof(c.name));
}

int fl_seal_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX], uint64_t *ret_tampered) {
        struct fl_seal_ctl q;
        int r = query(b, &q);

        if (r < 0)
                return r;
        memcpy(ret, q.stats, sizeof(q.stats));
        if (ret_tampered)
                *ret_tampered = q.tampered;
        return 0;
}

/* Frozen maps have no fd here to compare: the names must still be there. */
int fl_seal_pins_intact(FlBpf *b) {
        static const char *const names[] = { PIN_CTL, PIN_GUARD, PIN_TAMPER, PIN_TAMPER_STATS };
        _cleanup_close_ int dfd = open(b->pin_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        if (dfd < 0)
                return 0;
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                if (fstatat(dfd, map_pin_names[i], &st, 0) < 0)
                        return 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (fstatat(dfd, names[i], &st, 0) < 0)
                        return 0;
        for (size_t i = 0; i < b->n_links; i++)
                if (fstatat(dfd, b->link_names[i], &st, 0) < 0)
                        return 0;
        return 1;
}
