/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What else on this machine affects fileless execution, for the Posture
 * property: read when asked, never changed. */

#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "escape.h"
#include "names.h"
#include "posture.h"

/* From Linux 6.3 (include/uapi/linux/memfd.h, fcntl.h); Debian 12's headers
 * are older. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static _printf_(3, 4) int add(Posture *p, const char *item, const char *format, ...) {
        PostureItem *w = realloc(p->v, (p->n + 1) * sizeof(PostureItem));
        va_list ap;
        int r;

        if (!w)
                return -ENOMEM;
        p->v = w;
        w = &p->v[p->n];
        *w = (PostureItem) { .item = strdup(item) };
        va_start(ap, format);
        r = vasprintf(&w->value, format, ap);
        va_end(ap);
        if (r < 0 || !w->item) {
                if (r >= 0)
                        free(w->value);
                free(w->item);
                return -ENOMEM;
        }
        p->n++;
        return 0;
}

void posture_done(Posture *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].item);
                free(p->v[i].value);
        }
        free(p->v);
        *p = (Posture) {};
}

/* ---- mounts ---- */

typedef struct Mount {
        char *point;
        char *fstype;
        bool noexec;
} Mount;

typedef struct Mounts {
        Mount *v;
        size_t n;
} Mounts;

static void mounts_done(Mounts *ms) {
        for (size_t i = 0; i < ms->n; i++) {
                free(ms->v[i].point);
                free(ms->v[i].fstype);
        }
        free(ms->v);
}

/* mountinfo writes a space, tab, newline or backslash of a path as \ooo. */
static void unescape_octal(char *s) {
        char *w = s;

        for (; *s; s++)
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *w++ = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else
                        *w++ = *s;
        *w = 0;
}

/* The mounts of PID 1's mount namespace: the machine's, not the daemon's own,
 * which systemd rearranged for its sandbox. In mountinfo's order, so that of
 * two mounts on one point the later is the one on top. */
static int mounts_read(Mounts *ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/1/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        Mounts ms = {};
        size_t size = 0;

        if (!f)
                return -errno;
        while (getline(&line, &size, f) > 0) {
                char point[4096], opts[1024], fstype[256];
                const char *sep = strstr(line, " - ");
                Mount *w;

                /* id parent major:minor root mount-point options [optional...] - fstype source ... */
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s %1023s", point, opts) != 2 ||
                    sscanf(sep + 3, "%255s", fstype) != 1)
                        continue;
                w = realloc(ms.v, (ms.n + 1) * sizeof(Mount));
                if (!w) {
                        mounts_done(&ms);
                        return -ENOMEM;
                }
                ms.v = w;
                unescape_octal(point);
                w[ms.n] = (Mount) { strdup(point), strdup(fstype), comma_list_has(opts, "noexec") };
                if (!w[ms.n].point || !w[ms.n].fstype) {
                        ms.n++;
                        mounts_done(&ms);
                        return -ENOMEM;
                }
                ms.n++;
        }
        *ret = ms;
        return 0;
}

static bool path_under(const char *path, const char *point) {
        size_t len = strlen(point);

        return streq(point, "/") || (strncmp(path, point, len) == 0 && (path[len] == 0 || path[len] == '/'));
}

/* PATH's mount: the one whose mount point is the longest prefix of PATH. */
static int add_mount(Posture *p, const Mounts *ms, int error, const char *path) {
        _cleanup_free_ char *point = NULL;
        const Mount *best = NULL;

        if (error < 0)
                return add(p, path, "unknown (cannot read /proc/1/mountinfo: %s)", strerror(-error));
        for (size_t i = 0; i < ms->n; i++)
                if (path_under(path, ms->v[i].point) && (!best || strlen(ms->v[i].point) >= strlen(best->point)))
                        best = &ms->v[i];
        if (!best)
                return add(p, path, "unknown (no mount holds it)");
        point = escape_string(best->point, SIZE_MAX);
        if (!point)
                return -ENOMEM;
        if (streq(best->point, path))
                return add(p, path, "%s (%s mounted there)", best->noexec ? "noexec" : "exec", best->fstype);
        return add(p, path, "%s (no mount of its own: on %s, %s)", best->noexec ? "noexec" : "exec", point,
                   best->fstype);
}

/* Each mount right below /run/user (a user's runtime directory), the top one
 * of each mount point. */
static int add_run_user(Posture *p, const Mounts *ms, int error) {
        static const char prefix[] = "/run/user/";
        size_t found = 0;
        int r;

        if (error < 0)
                return add(p, "/run/user/*", "unknown (cannot read /proc/1/mountinfo: %s)", strerror(-error));
        for (size_t i = 0; i < ms->n; i++) {
                const char *point = ms->v[i].point, *name = point + strlen(prefix);
                _cleanup_free_ char *item = NULL;
                bool later = false;

                if (strncmp(point, prefix, strlen(prefix)) != 0 || !*name || strchr(name, '/'))
                        continue;
                for (size_t j = i + 1; j < ms->n; j++)
                        later = later || streq(ms->v[j].point, point);
                if (later)
                        continue;
                item = escape_string(point, SIZE_MAX);
                if (!item)
                        return -ENOMEM;
                r = add(p, item, "%s (%s mounted there)", ms->v[i].noexec ? "noexec" : "exec", ms->v[i].fstype);
                if (r < 0)
                        return r;
                found++;
        }
        return found > 0 ? 0 : add(p, "/run/user/*", "none (nothing is mounted below /run/user)");
}

/* ---- the kernel ---- */

static int add_lsm(Posture *p, Manager *m) {
        _cleanup_fclose_ FILE *f = fopen("/sys/kernel/security/lsm", "re");
        char buf[512] = {};
        _cleanup_free_ char *list = NULL;

        if (!f || !fgets(buf, sizeof(buf), f))
                return add(p, "BPF LSM", "unknown (cannot read /sys/kernel/security/lsm: %s)",
                           f ? "empty" : strerror(errno));
        buf[strcspn(buf, "\n")] = 0;
        list = escape_string(buf, SIZE_MAX);
        if (!list)
                return -ENOMEM;
        if (!comma_list_has(buf, "bpf"))
                return add(p, "BPF LSM", "not active (lsm=%s)", list);
        return add(p, "BPF LSM", "active (lsm=%s%s)", list,
                   m->bpf->backend == FL_BACKEND_LSM ? "" : "; not used by the backend in force, see \"backend chosen\"");
}

/* What memfd_create() does without MFD_EXEC or MFD_NOEXEC_SEAL is what
 * vm.memfd_noexec says (0: executable; 1 and 2: sealed non-executable), and
 * 2 refuses MFD_EXEC: so the setting of our pid namespace can be read from
 * the kernel's behaviour, where ProcSubset=pid hides /proc/sys. Linux 6.3 to
 * 6.6 refuse even the plain call under 2. The kernel logs a line (rate
 * limited) when it refuses MFD_EXEC, so that is asked last, only to tell 1
 * from 2. */
static const char *memfd_noexec_probe(void) {
        _cleanup_close_ int fd = -1, exec_fd = -1;
        struct stat st;
        int seals;

        fd = memfd_create("filelesslock-posture", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
        if (fd < 0)
                return errno == EINVAL ? "absent" : NULL;
        closep(&fd);
        fd = memfd_create("filelesslock-posture", MFD_CLOEXEC);
        if (fd < 0)
                return errno == EACCES ? "2" : NULL;
        seals = fcntl(fd, F_GET_SEALS);
        if (fstat(fd, &st) < 0 || seals < 0)
                return NULL;
        if (st.st_mode & 0111)
                return "0";
        if (!(seals & F_SEAL_EXEC)) {
                errno = EPROTO; /* sealed non-executable without the seal: not a kernel we know */
                return NULL;
        }
        exec_fd = memfd_create("filelesslock-posture", MFD_CLOEXEC | MFD_EXEC);
        if (exec_fd >= 0)
                return "1";
        return errno == EACCES ? "2" : NULL;
}

static int add_memfd_noexec(Posture *p) {
        static const char *const meaning[] = {
                "memfd_create() makes executable memfds unless asked for MFD_NOEXEC_SEAL",
                "memfd_create() makes sealed non-executable memfds unless asked for MFD_EXEC",
                "no executable memfd can be made: MFD_EXEC is refused",
        };
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/vm/memfd_noexec", "re");
        const char *source = "read from /proc/sys/vm/memfd_noexec";
        char buf[32] = {};
        const char *value;
        bool hidden;

        if (f && fgets(buf, sizeof(buf), f)) {
                buf[strcspn(buf, "\n")] = 0;
                value = buf;
        } else {
                /* Under the unit's ProcSubset=pid there is no /proc/sys at all;
                 * before 6.3 there is, without this file. */
                hidden = access("/proc/sys/vm", F_OK) < 0;
                value = memfd_noexec_probe();
                source = hidden ? "probed with memfd_create(): /proc/sys is hidden from the daemon (ProcSubset=pid)"
                                : "probed with memfd_create()";
                if (!value)
                        return add(p, "vm.memfd_noexec", "unknown (%s; the probe failed: %s)",
                                   hidden ? "/proc/sys is hidden from the daemon (ProcSubset=pid)"
                                          : "/proc/sys/vm/memfd_noexec cannot be read",
                                   strerror(errno));
        }
        if (streq(value, "absent"))
                return add(p, "vm.memfd_noexec", "absent (Linux before 6.3: every memfd is executable; %s)", source);
        for (size_t i = 0; i < ELEMENTSOF(meaning); i++)
                if (value[0] == (char) ('0' + i) && value[1] == 0)
                        return add(p, "vm.memfd_noexec", "%s (%s; of the daemon's pid namespace, which others may only "
                                                         "make stricter; %s)",
                                   value, meaning[i], source);
        return add(p, "vm.memfd_noexec", "unknown (unexpected value \"%.16s\"; %s)", value, source);
}

/* ---- the daemon ---- */

static int add_backend(Posture *p, Manager *m) {
        bool tracepoint = m->bpf->backend == FL_BACKEND_TRACEPOINT;
        int r;

        r = add(p, "backend", "%s", backend_to_string(m->bpf->backend));
        if (r >= 0)
                r = add(p, "backend chosen", "%s", strna(m->bpf->reason));
        if (r < 0)
                return r;
        if (m->bpf->sees_mappings && m->bpf->sees_prepare_exec)
                r = add(p, "backend cannot see", "none (%s)",
                        tracepoint ? "TracepointMappings=yes and Linux 6.10 or later: what lsm sees"
                                   : "every exec and executable mapping goes through its hooks");
        else
                r = add(p, "backend cannot see", "%s%s%s",
                        m->bpf->sees_mappings ? ""
                                              : "executable mappings made by system calls (the dynamic loader run as "
                                                "a program, dlopen(), LD_PRELOAD, LD_AUDIT), unless "
                                                "TracepointMappings=yes, at a cost on every system call",
                        !m->bpf->sees_mappings && !m->bpf->sees_prepare_exec ? "; " : "",
                        m->bpf->sees_prepare_exec ? ""
                                                  : "the program that did an exec before Linux 6.10 (no "
                                                    "sched_prepare_exec), so TrustedExecutable= cannot apply, and a "
                                                    "#! script's own file when io_uring cuts its pending release "
                                                    "short (then only its exec path)");
        if (r < 0)
                return r;
        return add(p, "blocking", "%s",
                   tracepoint ? "SIGKILL after the exec's point of no return, before the new image's first "
                                "instruction: the exec's side effects (closed descriptors, a released vfork() parent) "
                                "have happened; a mapping task is killed before the call returns"
                              : "EPERM from execve(), mmap() and mprotect(), before anything changes");
}

static int add_trusted(Posture *p, Manager *m) {
        _cleanup_free_ char *s = manager_trust_describe(m);

        if (!s)
                return -ENOMEM;
        if (!m->bpf->sees_prepare_exec && !streq(s, "none"))
                return add(p, "trusted executables", "%s (not applied: backend %s cannot see the program that did "
                                                     "an exec before Linux 6.10)",
                           s, backend_to_string(m->bpf->backend));
        return add(p, "trusted executables", "%s", s);
}

static int add_scopes(Posture *p, Manager *m) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, n = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < m->settings.n_scopes; i++) {
                _cleanup_free_ char *unit = escape_string(m->settings.scopes[i].unit, SIZE_MAX);

                if (m->settings.scopes[i].profile <= 0)
                        continue;
                fprintf(f, "%s%s %s", n++ ? ", " : "", unit ?: "?", profile_to_string(m->settings.scopes[i].profile));
        }
        if (fclose(f) < 0)
                return -ENOMEM;
        if (n == 0)
                return add(p, "unit scopes", "none (the machine-wide profile %s applies everywhere)",
                           profile_to_string(m->settings.profile));
        return add(p, "unit scopes", "%zu (%s; elsewhere the machine-wide profile %s)", n, buf,
                   profile_to_string(m->settings.profile));
}

int posture_read(Manager *m, Posture *ret) {
        Posture p = {};
        Mounts ms = {};
        int r, mounts;

        mounts = mounts_read(&ms);
        if ((r = add_backend(&p, m)) < 0 || (r = add_lsm(&p, m)) < 0 || (r = add_memfd_noexec(&p)) < 0 ||
            (r = add_mount(&p, &ms, mounts, "/dev/shm")) < 0 || (r = add_mount(&p, &ms, mounts, "/tmp")) < 0 ||
            (r = add_run_user(&p, &ms, mounts)) < 0 || (r = add_trusted(&p, m)) < 0 || (r = add_scopes(&p, m)) < 0)
                posture_done(&p);
        mounts_done(&ms);
        *ret = p;
        return r;
}
