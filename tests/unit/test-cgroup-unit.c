/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* cgroup_path_units() (src/cgroup-unit.c): the unit is the first component
 * below the root's chain of slices, and the user unit the same below a
 * user@UID.service; a name chosen further down, in a delegated subtree, never
 * counts. And cgroup_id_units(), which finds the cgroup of an event's id in
 * the hierarchy and takes its path below the mount point. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-unit.h"
#include "tests.h"

#define EXIT_SKIP 77

static void assert_units(const char *path, const char *unit, const char *user_unit) {
        char *u = (char *) "untouched", *uu = (char *) "untouched";

        if (cgroup_path_units(path, &u, &uu) != 0)
                TEST_FAIL("cgroup_path_units(\"%s\") failed", path);
        if (!(u && unit ? strcmp(u, unit) == 0 : u == unit))
                TEST_FAIL("\"%s\": unit %s, expected %s", path, u ?: "(none)", unit ?: "(none)");
        if (!(uu && user_unit ? strcmp(uu, user_unit) == 0 : uu == user_unit))
                TEST_FAIL("\"%s\": user unit %s, expected %s", path, uu ?: "(none)", user_unit ?: "(none)");
        free(u);
        free(uu);
}

static void test_system_units(void) {
        assert_units("/system.slice/sshd.service", "sshd.service", NULL);
        /* a service's own sub-cgroups still belong to it */
        assert_units("/system.slice/sshd.service/x", "sshd.service", NULL);
        assert_units("/system.slice/docker-0123abcd.scope/payload/deeper", "docker-0123abcd.scope", NULL);
        assert_units("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service", NULL);
        assert_units("/system.slice/foo.socket", "foo.socket", NULL);
        assert_units("/system.slice/run-r1.mount", "run-r1.mount", NULL);
        assert_units("/system.slice/dev-sda2.swap", "dev-sda2.swap", NULL);
        assert_units("/system.slice/fstrim.timer", "fstrim.timer", NULL);
        assert_units("/init.scope", "init.scope", NULL);
        assert_units("/machine.slice/machine-x.scope/payload", "machine-x.scope", NULL);
}

static void test_user_units(void) {
        assert_units("/user.slice/user-1000.slice/session-3.scope", "session-3.scope", NULL);
        assert_units("/user.slice/user-1000.slice/session-3.scope/evil.service", "session-3.scope", NULL);
        assert_units("/user.slice/user-1000.slice/user@1000.service", "user@1000.service", NULL);
        assert_units("/user.slice/user-1000.slice/user@1000.service/init.scope", "user@1000.service", "init.scope");
        assert_units("/user.slice/user-1000.slice/user@1000.service/app.slice/sshd.service", "user@1000.service",
                     "sshd.service");
        assert_units("/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome.slice/x.scope/y",
                     "user@1000.service", "x.scope");
        /* below the user manager, the same rule: slices, then a unit or none */
        assert_units("/user.slice/user-1000.slice/user@1000.service/app.slice/notaunit/sshd.service",
                     "user@1000.service", NULL);
        assert_units("/user.slice/user-1000.slice/user@1000.service/app.slice", "user@1000.service", NULL);
}

/* Names a user chose in a delegated subtree never become the unit: a forged
 * user@0.service or sshd.service below a unit stays below it. */
static void test_forged_names(void) {
        assert_units("/user.slice/user-1000.slice/session-3.scope/user@0.service/sshd.service", "session-3.scope",
                     NULL);
        assert_units("/system.slice/foo.service/user@0.service/sshd.service", "foo.service", NULL);
        assert_units("/system.slice/foo.service/system.slice/sshd.service", "foo.service", NULL);
        /* the first component that is not a slice decides, unit or not */
        assert_units("/machine.slice/foo/bar.service", NULL, NULL);
        assert_units("/payload/sshd.service", NULL, NULL);
        assert_units("/user.slice/user-1000.slice/user@1000.service/app.slice/notaunit/user@0.service/x.service",
                     "user@1000.service", NULL);
        /* user@ only as a service is a user manager */
        assert_units("/user.slice/user@1000.scope/sshd.service", "user@1000.scope", NULL);
        assert_units("/system.slice/xuser@1000.service/sshd.service", "xuser@1000.service", NULL);
}

static void test_no_unit(void) {
        assert_units("/", NULL, NULL);
        assert_units("", NULL, NULL);
        assert_units("//", NULL, NULL);
        assert_units("/system.slice", NULL, NULL);
        assert_units("/user.slice/user-1000.slice", NULL, NULL);
        assert_units("/system.slice/", NULL, NULL);
        assert_units("/foo", NULL, NULL);
        /* a suffix alone is no name */
        assert_units("/system.slice/.service", NULL, NULL);
        assert_units("/.scope", NULL, NULL);
        assert_units("/system.slice/sshd.services", NULL, NULL);
        assert_units("/system.slice/sshd.Service", NULL, NULL);
        assert_units("/system.slice/sshd.target", NULL, NULL);
        assert_units("/system.slice/sshd.service.d", NULL, NULL);
}

static void test_odd_paths(void) {
        /* repeated and trailing slashes are separators like any other */
        assert_units("//system.slice//sshd.service//x", "sshd.service", NULL);
        assert_units("/system.slice/sshd.service/", "sshd.service", NULL);
        /* relative to the hierarchy's root without the leading slash */
        assert_units("system.slice/sshd.service", "sshd.service", NULL);
        /* ".slice" alone is no slice (nor a unit), so nothing below it counts */
        assert_units("/.slice/sshd.service", NULL, NULL);
        /* names are copied whole, whatever they hold (escaping is the event's) */
        assert_units("/system.slice/a\nb\x1b[2J.service", "a\nb\x1b[2J.service", NULL);
        assert_units("/user.slice/user@1000.service/\xe2\x80\xae.scope", "user@1000.service", "\xe2\x80\xae.scope");

        /* a long one */
        char path[5000] = "/system.slice/";
        size_t n = strlen(path);

        memset(path + n, 'x', 4000);
        strcpy(path + n + 4000, ".service/more");
        {
                char *u = NULL, *uu = NULL;

                ASSERT_INT_EQ(cgroup_path_units(path, &u, &uu), 0);
                ASSERT_NOT_NULL(u);
                ASSERT_INT_EQ(strlen(u), 4000 + strlen(".service"));
                ASSERT_NULL(uu);
                free(u);
        }
}

/* Without the hierarchy (the daemon runs on without it): no units. */
static void test_id_units_no_hierarchy(void) {
        char *u = (char *) "untouched", *uu = (char *) "untouched";

        ASSERT_INT_EQ(cgroup_id_units(-1, NULL, 1, &u, &uu), 0);
        ASSERT_NULL(u);
        ASSERT_NULL(uu);
        ASSERT_INT_EQ(cgroup_id_units(-1, "/sys/fs/cgroup", 12345, &u, &uu), 0);
        ASSERT_NULL(u);
        ASSERT_NULL(uu);
}

/* The id of the cgroup at PATH: its kernfs node id, which is what
 * bpf_get_current_cgroup_id() gives and open_by_handle_at() takes. */
static int cgroup_id_of(const char *path, uint64_t *ret) {
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh = { .handle_bytes = sizeof(uint64_t) } };
        int mount_id;

        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
                return -errno;
        if (h.fh.handle_bytes != sizeof(uint64_t))
                return -EOPNOTSUPP;
        *ret = h.id;
        return 0;
}

static void assert_id_units(int fd, const char *mount, uint64_t id, const char *unit, const char *user_unit) {
        char *u = (char *) "untouched", *uu = (char *) "untouched";

        ASSERT_INT_EQ(cgroup_id_units(fd, mount, id, &u, &uu), 0);
        if (!(u && unit ? strcmp(u, unit) == 0 : u == unit))
                TEST_FAIL("id %" PRIu64 " below %s: unit %s, expected %s", id, mount, u ?: "(none)", unit ?: "(none)");
        if (!(uu && user_unit ? strcmp(uu, user_unit) == 0 : uu == user_unit))
                TEST_FAIL("id %" PRIu64 " below %s: user unit %s, expected %s", id, mount, uu ?: "(none)",
                          user_unit ?: "(none)");
        free(u);
        free(uu);
}

static char *made[4];

/* Removes what test_id_units() made, deepest first, also on a failure. */
static void remove_made(void) {
        for (size_t i = sizeof(made) / sizeof(made[0]); i > 0; i--)
                if (made[i - 1]) {
                        (void) rmdir(made[i - 1]);
                        free(made[i - 1]);
                        made[i - 1] = NULL;
                }
}

/* In the real hierarchy, with cgroups of our own below a slice of our own:
 * the units of each, from its id. Needs cgroup2, and root (to make the
 * cgroups and for open_by_handle_at()); skipped otherwise. */
static void test_id_units(void) {
        static const char *const paths[] = {
                "fl-test-%d.slice",
                "fl-test-%d.slice/fl-test.service",
                "fl-test-%d.slice/user@4242.service",
                "fl-test-%d.slice/user@4242.service/fl-app.scope",
        };
        uint64_t ids[4], root_id;
        char *mount = NULL, *prefix;
        int fd, k;

        fd = cgroup2_open(&mount);
        if (fd < 0) {
                printf("skipped: no cgroup2 hierarchy (%s)\n", strerror(-fd));
                exit(EXIT_SKIP);
        }
        ASSERT_INT_EQ(cgroup_id_of(mount, &root_id), 0);
        {
                struct {
                        struct file_handle fh;
                        uint64_t id;
                } h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe }, .id = root_id };
                int probe = open_by_handle_at(fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

                if (probe < 0) {
                        printf("skipped: open_by_handle_at(): %m\n");
                        free(mount); /* LeakSanitizer runs at exit */
                        exit(EXIT_SKIP);
                }
                close(probe);
        }
        atexit(remove_made);
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                char rel[128];

                snprintf(rel, sizeof(rel), paths[i], (int) getpid());
                ASSERT_TRUE(asprintf(&made[i], "%s/%s", mount, rel) > 0);
                if (mkdir(made[i], 0755) < 0) {
                        k = errno;
                        free(made[i]);
                        made[i] = NULL;
                        if (k == EACCES || k == EPERM || k == EROFS) {
                                printf("skipped: cannot make a cgroup: %s\n", strerror(k));
                                free(mount);
                                exit(EXIT_SKIP);
                        }
                        TEST_FAIL("mkdir %s/%s: %s", mount, rel, strerror(k));
                }
                ASSERT_INT_EQ(cgroup_id_of(made[i], &ids[i]), 0);
        }

        /* the root, a slice: no unit */
        assert_id_units(fd, mount, root_id, NULL, NULL);
        assert_id_units(fd, mount, ids[0], NULL, NULL);
        assert_id_units(fd, mount, ids[1], "fl-test.service", NULL);
        assert_id_units(fd, mount, ids[2], "user@4242.service", NULL);
        assert_id_units(fd, mount, ids[3], "user@4242.service", "fl-app.scope");

        /* the path is taken below MOUNT only: another mount point, or one
         * that is a prefix of the real one's name, finds nothing */
        assert_id_units(fd, "/nonexistent", ids[1], NULL, NULL);
        prefix = strndup(mount, strlen(mount) - 1);
        ASSERT_NOT_NULL(prefix);
        assert_id_units(fd, prefix, ids[1], NULL, NULL);
        free(prefix);
        /* ... even where the rest would read as a unit ("st.service") */
        ASSERT_TRUE(asprintf(&prefix, "%s/fl-te", made[0]) > 0);
        assert_id_units(fd, prefix, ids[1], NULL, NULL);
        free(prefix);

        /* a cgroup gone since the event: no units, no error */
        remove_made();
        assert_id_units(fd, mount, ids[3], NULL, NULL);
        assert_id_units(fd, mount, ids[1], NULL, NULL);

        close(fd);
        free(mount);
}

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_system_units);
        TEST(test_user_units);
        TEST(test_forged_names);
        TEST(test_no_unit);
        TEST(test_odd_paths);
        TEST(test_id_units_no_hierarchy);
        TEST(test_id_units);
        return test_finish();
}
