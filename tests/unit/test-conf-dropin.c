/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The D-Bus layer of the configuration (src/conf-write.c): conf_write_dropin()
 * saves what was set over D-Bus in PATH.d/90-set-profile.conf, atomically,
 * conf_read_dropin() reads it back, and conf_overridden() finds a later
 * drop-in that would undo it at the next reload. */

#include "conf-test.h"

/* The layer of the machine-wide profile alone, as SetProfile() saves it. */
static int write_profile(const char *main_path, int profile, char **err) {
        Settings layer = { .profile = profile };

        return conf_write_dropin(main_path, &layer, err);
}

static void test_write_dropin_creates_dir(void) {
        char *d = make_dir("write-new"), *main_path = join(d, "fileless.conf"), *dd = join(d, "fileless.conf.d"),
             *file = join(dd, CONF_PROFILE_DROPIN), *err = NULL, *content, *names;
        struct stat st;
        mode_t old_umask;

        /* whatever the umask, the directory is 0755: others read the config */
        old_umask = umask(077);
        ASSERT_INT_EQ(write_profile(main_path, FL_PROFILE_RESTRICTED, &err), 0);
        umask(old_umask);
        ASSERT_NULL(err);
        ASSERT_INT_EQ(lstat(dd, &st), 0);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_INT_EQ(st.st_mode & 07777, 0755);
        ASSERT_INT_EQ(lstat(file, &st), 0);
        ASSERT_TRUE(S_ISREG(st.st_mode));

        /* one file, no temporary left behind */
        names = list_dir(dd);
        ASSERT_STREQ(names, CONF_PROFILE_DROPIN);
        free(names);

        content = read_file(file);
        ASSERT_STARTSWITH(content, "# ");
        ASSERT_CONTAINS(content, "\n[Fileless]\nProfile=restricted\n");
        free(content);
        /* what a reload reads back: the main file is still missing */
        ASSERT_INT_EQ(load_profile(main_path), FL_PROFILE_RESTRICTED);

        free(file);
        free(dd);
        free(main_path);
        free(d);
}

static void test_write_dropin_replaces(void) {
        char *d = make_dir("write-replace"), *main_path = join(d, "fileless.conf"),
             *dd = make_dir("write-replace/fileless.conf.d"), *file = join(dd, CONF_PROFILE_DROPIN), *err = NULL,
             *content, *names;
        struct stat st;
        FILE *old;

        write_file(d, "fileless.conf", "[Fileless]\nProfile=restricted\nBackend=lsm\n");
        write_file(dd, "10-a.conf", "[Fileless]\nBackend=tracepoint\n");
        write_file(dd, CONF_PROFILE_DROPIN, "[Fileless]\nProfile=allow\n");
        /* a temporary file left by a crash is overwritten, not appended to */
        write_file(dd, "." CONF_PROFILE_DROPIN ".tmp", "[Fileless]\nProfile=allow\nBackend=lsm\n");
        ASSERT_INT_EQ(chmod(dd, 0750), 0);

        /* a reader that has the old file open keeps reading it whole: the new
         * one is renamed over it, not written into it */
        old = fopen(file, "re");
        ASSERT_NOT_NULL(old);

        for (int p = FL_PROFILE_ALLOW; p < _FL_PROFILE_MAX; p++) {
                char expected[64];

                ASSERT_INT_EQ(write_profile(main_path, p, &err), 0);
                ASSERT_NULL(err);
                content = read_file(file);
                snprintf(expected, sizeof(expected), "\n[Fileless]\nProfile=%s\n", profile_to_string(p));
                ASSERT_CONTAINS(content, expected);
                free(content);
                ASSERT_INT_EQ(load_profile(main_path), p);
        }

        {
                char buf[64] = {};

                ASSERT_TRUE(fread(buf, 1, sizeof(buf) - 1, old) > 0);
                ASSERT_STREQ(buf, "[Fileless]\nProfile=allow\n");
                fclose(old);
        }

        /* the other drop-ins and the directory's mode are left alone */
        names = list_dir(dd);
        ASSERT_STREQ(names, "10-a.conf," CONF_PROFILE_DROPIN);
        free(names);
        content = read_file(main_path);
        ASSERT_STREQ(content, "[Fileless]\nProfile=restricted\nBackend=lsm\n");
        free(content);
        ASSERT_INT_EQ(stat(dd, &st), 0);
        ASSERT_INT_EQ(st.st_mode & 07777, 0750);

        free(file);
        free(dd);
        free(main_path);
        free(d);
}

/* PATH.d that is not a directory of its own: refused, named, nothing written
 * through it. */
static void test_write_dropin_not_a_directory(void) {
        char *d = make_dir("write-notdir"), *main_path = join(d, "fileless.conf"), *dd = join(d, "fileless.conf.d"),
             *target = make_dir("write-notdir/elsewhere"), *err = NULL, *expected, *names;

        ASSERT_TRUE(asprintf(&expected, "%s: not a directory", dd) > 0);

        write_file(d, "fileless.conf.d", "not a directory\n");
        ASSERT_TRUE(write_profile(main_path, FL_PROFILE_ALLOW, &err) < 0);
        ASSERT_STREQ(err, expected);
        free(err), err = NULL;
        unlink_in(d, "fileless.conf.d");

        /* a symlink, even to a directory, is not followed */
        ASSERT_INT_EQ(symlink(target, dd), 0);
        ASSERT_TRUE(write_profile(main_path, FL_PROFILE_ALLOW, &err) < 0);
        ASSERT_STREQ(err, expected);
        free(err), err = NULL;
        names = list_dir(target);
        ASSERT_STREQ(names, "");
        free(names);

        /* without an error string */
        ASSERT_TRUE(write_profile(main_path, FL_PROFILE_ALLOW, NULL) < 0);

        free(expected);
        free(target);
        free(dd);
        free(main_path);
        free(d);
}

/* The errno of the case above: -ENOTDIR, for a file and for a symlink in
 * place of PATH.d (672f029; it was the -EEXIST that mkdir() left in errno). */
static void test_write_dropin_not_a_directory_errno(void) {
        char *d = make_dir("write-notdir-errno"), *main_path = join(d, "fileless.conf"),
             *dd = join(d, "fileless.conf.d"), *target = make_dir("write-notdir-errno/elsewhere");
        Settings layer = { .profile = FL_PROFILE_ALLOW };
        char *err = NULL;

        write_file(d, "fileless.conf.d", "not a directory\n");
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, NULL), -ENOTDIR);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), -ENOTDIR);
        free(err);
        unlink_in(d, "fileless.conf.d");
        ASSERT_INT_EQ(symlink(target, dd), 0);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, NULL), -ENOTDIR);
        /* a dangling one too */
        ASSERT_INT_EQ(unlink(dd), 0);
        ASSERT_INT_EQ(symlink("/nonexistent/filelesslock", dd), 0);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, NULL), -ENOTDIR);

        free(target);
        free(dd);
        free(main_path);
        free(d);
}

static char *unwritable_main, *unwritable_dropins_main;

static void write_unwritable(void) {
        char *err = NULL, *expected;

        /* the configuration directory is read-only: PATH.d cannot be made */
        ASSERT_INT_EQ(write_profile(unwritable_main, FL_PROFILE_RESTRICTED, &err), -EACCES);
        ASSERT_TRUE(asprintf(&expected, "%s.d: cannot create the drop-in directory: %s", unwritable_main,
                             strerror(EACCES)) > 0);
        ASSERT_STREQ(err, expected);
        free(expected);
        free(err), err = NULL;

        /* PATH.d is there, read-only: the file cannot be made; the error names
         * the file it tried */
        ASSERT_INT_EQ(write_profile(unwritable_dropins_main, FL_PROFILE_RESTRICTED, &err), -EACCES);
        ASSERT_TRUE(asprintf(&expected, "%s.d/." CONF_PROFILE_DROPIN ".tmp: cannot create: %s",
                             unwritable_dropins_main, strerror(EACCES)) > 0);
        ASSERT_STREQ(err, expected);
        free(expected);
        free(err), err = NULL;

        ASSERT_INT_EQ(write_profile(unwritable_main, FL_PROFILE_RESTRICTED, NULL), -EACCES);
}

static void test_write_dropin_unwritable(void) {
        char *d = make_dir("write-ro"), *d2 = make_dir("write-ro-dropins"),
             *dd2 = make_dir("write-ro-dropins/fileless.conf.d"), *names;

        unwritable_main = join(d, "fileless.conf");
        unwritable_dropins_main = join(d2, "fileless.conf");
        write_file(dd2, CONF_PROFILE_DROPIN, "[Fileless]\nProfile=allow\n");
        ASSERT_INT_EQ(chmod(tmp_root, 0755), 0);
        ASSERT_INT_EQ(chmod(d, 0555), 0);
        ASSERT_INT_EQ(chmod(dd2, 0555), 0);

        run_unprivileged(write_unwritable);

        /* nothing changed */
        ASSERT_INT_EQ(chmod(d, 0755), 0);
        ASSERT_INT_EQ(chmod(dd2, 0755), 0);
        names = list_dir(d);
        ASSERT_STREQ(names, "");
        free(names);
        names = list_dir(dd2);
        ASSERT_STREQ(names, CONF_PROFILE_DROPIN);
        free(names);
        ASSERT_INT_EQ(load_profile(unwritable_dropins_main), FL_PROFILE_ALLOW);

        free(unwritable_main);
        free(unwritable_dropins_main);
        free(dd2);
        free(d2);
        free(d);
}

/* conf_overridden() on PATH for UNIT (NULL: the machine-wide profile),
 * expecting the drop-in BY (a name in PATH.d) or none; and a reload must
 * agree: what conf_write_dropin() saves is what conf_load() gives when
 * nothing overrides it, and makes no difference when something does. */
static void assert_overridden_at(const char *file, int line, const char *main_path, const char *unit,
                                 const char *by) {
        char *ret = NULL, *expected = NULL;
        int r, loaded = -1;

        r = conf_overridden(main_path, unit, &ret);
        if (by) {
                ASSERT_TRUE(asprintf(&expected, "%s.d/%s", main_path, by) > 0);
                if (r != 1 || !ret || strcmp(ret, expected) != 0)
                        TEST_FAIL("%s:%d: conf_overridden(%s) = %d, \"%s\", expected 1, \"%s\"", file, line,
                                  unit ?: "NULL", r, ret ?: "(null)", expected);
        } else if (r != 0 || ret)
                TEST_FAIL("%s:%d: conf_overridden(%s) = %d, \"%s\", expected 0", file, line, unit ?: "NULL", r,
                          ret ?: "(null)");
        free(ret);
        free(expected);

        for (int p = FL_PROFILE_ALLOW; p < _FL_PROFILE_MAX; p++) {
                Settings s = SETTINGS_DEFAULT, layer = { .profile = unit ? 0 : p };
                char *err = NULL;
                int got;

                if (unit)
                        ASSERT_INT_EQ(settings_set_scope(&layer, unit, p), 0);
                ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), 0);
                settings_done(&layer);
                if (conf_load(main_path, &s, &err) < 0) {
                        /* a broken drop-in: nothing applies, for conf_load() to report */
                        free(err);
                        continue;
                }
                got = unit ? settings_scope_profile(&s, unit) : s.profile;
                settings_done(&s);
                if (!by && got != p)
                        TEST_FAIL("%s:%d: nothing overrides %s, but a reload gives profile %d, not %d", file, line,
                                  CONF_PROFILE_DROPIN, got, p);
                if (by && loaded >= 0 && got != loaded)
                        TEST_FAIL("%s:%d: %s overrides %s, but a reload gives profile %d after %d", file, line, by,
                                  CONF_PROFILE_DROPIN, got, loaded);
                loaded = got;
        }
}
#define assert_overridden(main_path, by) assert_overridden_at(__FILE__, __LINE__, (main_path), NULL, (by))
#define assert_unit_overridden(main_path, unit, by) \
        assert_overridden_at(__FILE__, __LINE__, (main_path), (unit), (by))

static void test_profile_overridden(void) {
        char *d = make_dir("overridden"), *main_path = join(d, "fileless.conf"), *dd;

        /* no drop-in directory at all */
        assert_overridden(main_path, NULL);
        dd = join(d, "fileless.conf.d");

        /* the main file and drop-ins sorting before ours set what they like */
        write_file(d, "fileless.conf", "[Fileless]\nProfile=restricted\n");
        write_file(dd, "10-early.conf", "[Fileless]\nProfile=allow\n");
        write_file(dd, "90-set-profile-z.conf", "[Fileless]\nProfile=allow\n"); /* '-' sorts before '.' */
        assert_overridden(main_path, NULL);

        /* after ours: other keys, a broken file, files that are no drop-ins */
        write_file(dd, "95-backend.conf", "[Fileless]\nBackend=lsm\n");
        write_file(dd, ".99-hidden.conf", "[Fileless]\nProfile=allow\n");
        write_file(dd, "99-old.conf.bak", "[Fileless]\nProfile=allow\n");
        write_file(dd, "99-profile.conf~", "[Fileless]\nProfile=allow\n");
        assert_overridden(main_path, NULL);
        write_file(dd, "96-broken.conf", "[Fileless]\nProfile=allow\nNoSuchKey=1\n");
        assert_overridden(main_path, NULL);
        unlink_in(dd, "96-broken.conf");

        /* a later Profile= wins; of several, the last */
        write_file(dd, "90-set-profile2.conf", "[Fileless]\nProfile=allow\n"); /* '2' sorts after '.' */
        assert_overridden(main_path, "90-set-profile2.conf");
        write_file(dd, "97-mid.conf", "[Fileless]\nProfile=baseline\n");
        assert_overridden(main_path, "97-mid.conf");
        write_file(dd, "98-late.conf", "# comment\n[Fileless]\nBackend=auto\nProfile=restricted\n");
        assert_overridden(main_path, "98-late.conf");

        /* an empty Profile= resets it, which overrides too */
        unlink_in(dd, "90-set-profile2.conf");
        unlink_in(dd, "97-mid.conf");
        unlink_in(dd, "98-late.conf");
        write_file(dd, "99-reset.conf", "[Fileless]\nProfile=\n");
        assert_overridden(main_path, "99-reset.conf");

        /* scopes in a later file are no machine-wide Profile= */
        unlink_in(dd, "99-reset.conf");
        write_file(dd, "99-scopes.conf", "[Scope]\nUnit=a.service\nProfile=allow\n[Scope]\nUnit=b.slice\nProfile=\n");
        assert_overridden(main_path, NULL);

        free(dd);
        free(main_path);
        free(d);
}

/* conf_overridden() for a unit: a later drop-in's [Scope] for that unit,
 * setting or removing it, overrides; nothing else does. */
static void test_unit_overridden(void) {
        char *d = make_dir("unit-overridden"), *main_path = join(d, "fileless.conf"),
             *dd = join(d, "fileless.conf.d");

        assert_unit_overridden(main_path, "a.service", NULL);

        /* the main file and earlier drop-ins set what they like */
        write_file(d, "fileless.conf", "[Scope]\nUnit=a.service\nProfile=restricted\n");
        write_file(dd, "10-early.conf", "[Scope]\nUnit=a.service\nProfile=allow\n");
        write_file(dd, "90-set-profile-z.conf", "[Scope]\nUnit=a.service\nProfile=\n");
        assert_unit_overridden(main_path, "a.service", NULL);

        /* after ours: another unit's scope, the machine-wide profile, a broken
         * file, files that are no drop-ins */
        write_file(dd, "95-b.conf", "[Scope]\nUnit=b.service\nProfile=allow\n[Fileless]\nProfile=allow\n");
        write_file(dd, ".99-hidden.conf", "[Scope]\nUnit=a.service\nProfile=allow\n");
        write_file(dd, "99-a.conf.bak", "[Scope]\nUnit=a.service\nProfile=allow\n");
        write_file(dd, "96-broken.conf", "[Scope]\nUnit=a.service\nProfile=allow\n[Scope]\nUnit=a.service\n");
        assert_unit_overridden(main_path, "a.service", NULL);
        /* ... which do override what they are about */
        assert_unit_overridden(main_path, "b.service", "95-b.conf");
        assert_overridden(main_path, "95-b.conf");
        /* a name is a name: no prefix or case match */
        assert_unit_overridden(main_path, "b.serviceX", NULL);
        assert_unit_overridden(main_path, "B.service", NULL);
        unlink_in(dd, "96-broken.conf");

        /* a later [Scope] for the unit wins; of several, the last */
        write_file(dd, "97-a.conf", "[Scope]\nUnit=a.service\nProfile=allow\n");
        assert_unit_overridden(main_path, "a.service", "97-a.conf");
        write_file(dd, "98-a.conf", "[Fileless]\nBackend=lsm\n[Scope]\nUnit=c.slice\nProfile=baseline\n"
                                    "[Scope]\nProfile=restricted\nUnit=a.service\n");
        assert_unit_overridden(main_path, "a.service", "98-a.conf");
        assert_unit_overridden(main_path, "c.slice", "98-a.conf");
        assert_unit_overridden(main_path, "b.service", "95-b.conf");

        /* a removal (an empty Profile=) overrides too */
        unlink_in(dd, "97-a.conf");
        unlink_in(dd, "98-a.conf");
        write_file(dd, "99-remove.conf", "[Scope]\nUnit=a.service\nProfile=\n");
        assert_unit_overridden(main_path, "a.service", "99-remove.conf");

        free(dd);
        free(main_path);
        free(d);
}

static void assert_scope(const Settings *s, size_t i, const char *unit, int profile) {
        if (i >= s->n_scopes)
                TEST_FAIL("scope %zu missing, expected %s", i, unit);
        ASSERT_STREQ(s->scopes[i].unit, unit);
        ASSERT_INT_EQ(s->scopes[i].profile, profile);
}

/* Leaves out the scopes of profile 0 (as conf_load() does at its end). */
static void drop_removed(Settings *s) {
        size_t j = 0;

        for (size_t i = 0; i < s->n_scopes; i++)
                if (s->scopes[i].profile > 0)
                        s->scopes[j++] = s->scopes[i];
                else
                        free(s->scopes[i].unit);
        s->n_scopes = j;
}

/* conf_write_dropin(), then conf_read_dropin(): the same layer, its
 * profile and scopes in order; a removed scope (profile 0) is not saved
 * with a profile. The file's other content is left to the writer, but
 * conf_load() must read it as that layer too. */
static void test_dropin_round_trip(void) {
        char *d = make_dir("round-trip"), *main_path = join(d, "fileless.conf"), *err = NULL, *file, *content;
        Settings layer = { .profile = FL_PROFILE_RESTRICTED }, back, loaded;

        ASSERT_INT_EQ(settings_set_scope(&layer, "nginx.service", FL_PROFILE_RESTRICTED), 0);
        ASSERT_INT_EQ(settings_set_scope(&layer, "user.slice", FL_PROFILE_ALLOW), 0);
        ASSERT_INT_EQ(settings_set_scope(&layer, "gone.service", FL_PROFILE_BASELINE), 0);
        ASSERT_INT_EQ(settings_set_scope(&layer, "systemd-fsck@dev-disk-by\\x2duuid-1.service", FL_PROFILE_BASELINE),
                      0);
        ASSERT_INT_EQ(settings_set_scope(&layer, "gone.service", 0), 0);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), 0);
        ASSERT_NULL(err);

        file = join(d, "fileless.conf.d/" CONF_PROFILE_DROPIN);
        content = read_file(file);
        ASSERT_STARTSWITH(content, "# ");
        ASSERT_CONTAINS(content, "\n[Fileless]\nProfile=restricted\n");
        ASSERT_CONTAINS(content, "\n[Scope]\nUnit=nginx.service\nProfile=restricted\n");
        ASSERT_CONTAINS(content, "\n[Scope]\nUnit=user.slice\nProfile=allow\n");
        ASSERT_CONTAINS(content, "\n[Scope]\nUnit=systemd-fsck@dev-disk-by\\x2duuid-1.service\nProfile=baseline\n");
        ASSERT_NOT_CONTAINS(content, "Profile=baseline\n[Scope]\nUnit=gone");
        ASSERT_NOT_CONTAINS(content, "Unit=gone.service\nProfile=b");
        free(content);

        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_NULL(err);
        ASSERT_INT_EQ(back.profile, FL_PROFILE_RESTRICTED);
        /* in order, leaving out a removal if the writer saved one */
        ASSERT_INT_EQ(settings_scope_profile(&back, "gone.service"), 0);
        drop_removed(&back);
        ASSERT_INT_EQ(back.n_scopes, 3);
        assert_scope(&back, 0, "nginx.service", FL_PROFILE_RESTRICTED);
        assert_scope(&back, 1, "user.slice", FL_PROFILE_ALLOW);
        assert_scope(&back, 2, "systemd-fsck@dev-disk-by\\x2duuid-1.service", FL_PROFILE_BASELINE);
        ASSERT_INT_EQ(back.n_trusted, 0);

        /* a reload: the layer on top of nothing else */
        load_ok(main_path, &loaded);
        ASSERT_INT_EQ(loaded.profile, FL_PROFILE_RESTRICTED);
        ASSERT_INT_EQ(loaded.n_scopes, 3);
        assert_scope(&loaded, 0, "nginx.service", FL_PROFILE_RESTRICTED);
        assert_scope(&loaded, 1, "user.slice", FL_PROFILE_ALLOW);
        assert_scope(&loaded, 2, "systemd-fsck@dev-disk-by\\x2duuid-1.service", FL_PROFILE_BASELINE);
        settings_done(&loaded);

        /* what is read back writes the same file again */
        settings_done(&back);
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        content = read_file(file);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &back, &err), 0);
        {
                char *again = read_file(file);

                ASSERT_STREQ(again, content);
                free(again);
        }
        free(content);
        settings_done(&back);

        /* scopes without the machine-wide profile: no Profile= of [Fileless] */
        layer.profile = 0;
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), 0);
        content = read_file(file);
        ASSERT_NOT_CONTAINS(content, "[Fileless]");
        free(content);
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_INT_EQ(back.profile, 0);
        ASSERT_INT_EQ(settings_scope_profile(&back, "user.slice"), FL_PROFILE_ALLOW);
        settings_done(&back);
        load_ok(main_path, &loaded);
        ASSERT_INT_EQ(loaded.profile, FL_PROFILE_BASELINE);
        settings_done(&loaded);

        /* an empty layer: nothing set */
        settings_done(&layer);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), 0);
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_INT_EQ(back.profile, 0);
        ASSERT_INT_EQ(back.n_scopes, 0);
        settings_done(&back);
        ASSERT_NULL(err);

        free(file);
        free(main_path);
        free(d);
}

/* conf_read_dropin() of what is not there, and of a broken file. */
static void test_read_dropin(void) {
        char *d = make_dir("read-dropin"), *main_path = join(d, "fileless.conf"), *err = NULL, *expected, *dd;
        Settings back = { .profile = 99 };

        /* no directory, then no file: nothing set (profile 0), no error */
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_NULL(err);
        ASSERT_INT_EQ(back.profile, 0);
        ASSERT_INT_EQ(back.n_scopes, 0);
        dd = make_dir("read-dropin/fileless.conf.d");
        write_file(dd, "10-other.conf", "[Fileless]\nProfile=restricted\n[Scope]\nUnit=a.service\nProfile=allow\n");
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_INT_EQ(back.profile, 0);
        ASSERT_INT_EQ(back.n_scopes, 0);

        /* only our file counts; edited by hand, it is read as it is */
        write_file(dd, CONF_PROFILE_DROPIN, "[Scope]\nUnit=b.service\nProfile=baseline\n");
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), 0);
        ASSERT_INT_EQ(back.profile, 0);
        ASSERT_INT_EQ(back.n_scopes, 1);
        assert_scope(&back, 0, "b.service", FL_PROFILE_BASELINE);
        settings_done(&back);

        write_file(dd, CONF_PROFILE_DROPIN, "[Fileless]\nProfile=allow\n[Scope]\nUnit=b.service\n");
        back = (Settings) { .profile = 99 };
        ASSERT_INT_EQ(conf_read_dropin(main_path, &back, &err), -EINVAL);
        ASSERT_TRUE(asprintf(&expected, "%s/" CONF_PROFILE_DROPIN ":3: [Scope] needs Unit= and Profile= (an empty "
                                        "Profile= removes the unit's scope)", dd) > 0);
        ASSERT_STREQ(err, expected);
        ASSERT_INT_EQ(back.profile, 99);
        free(expected);
        free(err);

        free(dd);
        free(main_path);
        free(d);
}

/* SetUnitProfile(UNIT, "") removes UNIT's scope and saves that in the D-Bus
 * drop-in (manager-profile.c, persist(): conf_read_dropin(), then
 * settings_set_scope(&layer, UNIT, 0), then conf_write_dropin()). "A change
 * saved in our drop-in must be what a reload or restart applies"
 * (check_not_overridden()): when the main file or an earlier drop-in sets
 * the scope, only a removal in our drop-in (an empty Profile=, which
 * conf_parse() keeps for this) undoes it at the next reload. */
static void test_dropin_removal_survives_reload(void) {
        char *d = make_dir("removal"), *main_path = join(d, "fileless.conf"), *err = NULL;
        Settings layer, loaded;

        write_file(d, "fileless.conf", "[Scope]\nUnit=nginx.service\nProfile=restricted\n");
        ASSERT_INT_EQ(conf_read_dropin(main_path, &layer, &err), 0);
        ASSERT_INT_EQ(settings_set_scope(&layer, "nginx.service", 0), 0);
        ASSERT_INT_EQ(conf_write_dropin(main_path, &layer, &err), 0);
        ASSERT_NULL(err);
        settings_done(&layer);

        load_ok(main_path, &loaded);
        ASSERT_INT_EQ(settings_scope_profile(&loaded, "nginx.service"), 0);
        settings_done(&loaded);

        free(main_path);
        free(d);
}

static char *unreadable_main;

static void overridden_unreadable(void) {
        char *ret = (char *) "untouched";

        ASSERT_TRUE(conf_overridden(unreadable_main, NULL, &ret) < 0);
}

static void test_overridden_unreadable(void) {
        char *d = make_dir("overridden-ro"), *dd = make_dir("overridden-ro/fileless.conf.d");

        unreadable_main = join(d, "fileless.conf");
        write_file(dd, "99-late.conf", "[Fileless]\nProfile=allow\n");
        ASSERT_INT_EQ(chmod(tmp_root, 0755), 0);
        ASSERT_INT_EQ(chmod(dd, 0), 0);
        run_unprivileged(overridden_unreadable);
        ASSERT_INT_EQ(chmod(dd, 0755), 0);

        free(unreadable_main);
        free(dd);
        free(d);
}

static void overridden_unreadable_errno(void) {
        char *ret = (char *) "untouched";

        ASSERT_INT_EQ(conf_overridden(unreadable_main, NULL, &ret), -EACCES);
        ASSERT_INT_EQ(conf_overridden(unreadable_main, "a.service", &ret), -EACCES);
}

/* The errno of the case above: -EACCES (672f029; it was conf_error()'s
 * -EINVAL, which the manager showed as "Failed to read the configuration
 * drop-ins: Invalid argument"). */
static void test_overridden_unreadable_errno(void) {
        char *d = make_dir("overridden-ro-errno"), *dd = make_dir("overridden-ro-errno/fileless.conf.d");

        unreadable_main = join(d, "fileless.conf");
        ASSERT_INT_EQ(chmod(tmp_root, 0755), 0);
        ASSERT_INT_EQ(chmod(dd, 0), 0);
        run_unprivileged(overridden_unreadable_errno);
        ASSERT_INT_EQ(chmod(dd, 0755), 0);

        free(unreadable_main);
        free(dd);
        free(d);
}

int main(int argc, char **argv) {
        char tmpl[] = "/tmp/test-conf-dropin-XXXXXX";

        test_setup(argc, argv);
        tmp_setup(tmpl);
        TEST(test_write_dropin_creates_dir);
        TEST(test_write_dropin_replaces);
        TEST(test_write_dropin_not_a_directory);
        TEST(test_write_dropin_not_a_directory_errno);
        TEST(test_write_dropin_unwritable);
        TEST(test_profile_overridden);
        TEST(test_unit_overridden);
        TEST(test_overridden_unreadable);
        TEST(test_overridden_unreadable_errno);
        TEST(test_dropin_round_trip);
        TEST(test_read_dropin);
        TEST(test_dropin_removal_survives_reload);
        tmp_finish(tmpl);
        return test_finish();
}
