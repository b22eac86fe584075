/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* cgroup_path_units() (src/cgroup-unit.c): the unit is the first component
 * below the root's chain of slices, and the user unit the same below a
 * user@UID.service; a name chosen further down, in a delegated subtree, never
 * counts. */

#include "cgroup-unit.h"
#include "tests.h"

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

int main(int argc, char **argv) {
        test_setup(argc, argv);
        TEST(test_system_units);
        TEST(test_user_units);
        TEST(test_forged_names);
        TEST(test_no_unit);
        TEST(test_odd_paths);
        return test_finish();
}
