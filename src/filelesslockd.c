/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <getopt.h>
#include <systemd/sd-daemon.h>

#include "bpf-seal.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

/* LSB exit codes, as systemd.exec(5) lists them, so that "systemctl status"
 * says what kind of failure it was. */
#define EXIT_INVALIDARGUMENT 2
#define EXIT_NOPERMISSION 4
#define EXIT_NOTCONFIGURED 6

#define DEFAULT_CONFIG SYSCONFDIR "/filelesslock/filelesslockd.conf"

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Detects and stops fileless program execution (memfd, POSIX shm, O_TMPFILE and\n"
               "deleted files) with eBPF.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --profile=PROFILE    allow (or none, privileged), baseline, restricted\n"
               "     --backend=BACKEND    auto, lsm, fmod_ret, tracepoint\n"
               "     --config=FILE        Configuration file (default " DEFAULT_CONFIG ")\n"
               "     --pin-path=DIR       Where to pin programs and maps in bpffs\n"
               "                          (default " FL_DEFAULT_PIN_PATH ")\n"
               "     --disable            Remove the pinned programs and maps, then exit\n"
               "\nSee the filelesslockd(8) man page for details.\n",
               program_invocation_short_name);
}

typedef struct Args {
        char *config;
        char *pin_path;
        int profile;
        int backend;
        bool disable;
} Args;

static int parse_argv(int argc, char *argv[], Args *a) {
        enum {
                ARG_VERSION = 0x100,
                ARG_PROFILE,
                ARG_BACKEND,
                ARG_CONFIG,
                ARG_PIN_PATH,
                ARG_DISABLE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "profile", required_argument, NULL, ARG_PROFILE },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "pin-path", required_argument, NULL, ARG_PIN_PATH },
                { "disable", no_argument, NULL, ARG_DISABLE },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("filelesslockd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_PROFILE:
                        a->profile = profile_from_string(optarg);
                        if (a->profile < 0)
                                return log_error_errno(EINVAL, "Invalid --profile=\"%s\": valid profiles are "
                                                               PROFILE_VALID_NAMES ".", optarg);
                        break;
                case ARG_BACKEND:
                        a->backend = backend_choice_from_string(optarg);
                        if (a->backend < 0)
                                return log_error_errno(EINVAL, "Invalid --backend=\"%s\": valid backends are "
                                                               BACKEND_VALID_NAMES ".", optarg);
                        break;
                case ARG_CONFIG:
                        free(a->config);
                        a->config = strdup(optarg);
                        break;
                case ARG_PIN_PATH:
                        if (optarg[0] != '/')
                                return log_error_errno(EINVAL, "Invalid --pin-path=\"%s\": not an absolute path.", optarg);
                        free(a->pin_path);
                        a->pin_path = strdup(optarg);
                        break;
                case ARG_DISABLE:
                        a->disable = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option %i.", c);
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no positional arguments, got \"%s\".",
                                       program_invocation_short_name, argv[optind]);
        return 1;
}

static int notify_failure(int r, const char *what) {
        (void) sd_notifyf(false, "STATUS=Failed: %s: %s\nERRNO=%i", what, strerror(-r), -r);
        return r;
}

static int exit_code_for(int r) {
        return r == -EPERM || r == -EACCES ? EXIT_NOPERMISSION : EXIT_FAILURE;
}

static void args_done(Args *a) {
        free(a->config);
        free(a->pin_path);
}

static int disable(const Args *a) {
        const char *p = a->pin_path ?: FL_DEFAULT_PIN_PATH;
        struct fl_seal_ctl q;
        int r;

        /* Refused before anything is touched: the guard would deny the
         * unlinks one by one anyway (not on the tracepoint backend). */
        r = fl_seal_query(p, &q);
        if (r > 0) {
                (void) journal_struct(LOG_WARNING, FL_MESSAGE_TAMPER, "TAMPER_OP=disable", "OFFENDER_PID=%i",
                                      (int) getpid(), "OFFENDER_UID=%i", (int) getuid(),
                                      "OFFENDER_COMM=filelesslockd", "TAMPER_RESISTANCE=%s",
                                      tamper_level_to_string((int) q.level),
                                      MESSAGE("Refused while sealed: filelesslockd --disable (disable) by pid %i, "
                                              "uid %i.", (int) getpid(), (int) getuid()),
                                      NULL);
                log_error("The pins in %s are sealed until reboot: --disable refused.", p);
                return EXIT_FAILURE;
        }
        if (r < 0)
                log_warning_errno(r, "Cannot tell whether %s is sealed (%m), going on.", p);

        r = fl_bpf_unpin(p);
        if (r < 0)
                return exit_code_for(r);
        if (r == 0)
                log_info("Nothing pinned in %s.", p);
        else if (r == 1)
                log_info("Removed the pins in %s: nothing enforces any more.", p);
        else
                log_info("Removed the pins in %s.", p);
        return EXIT_SUCCESS;
}

/* Returns the exit status, LSB style. */
static int run(int argc, char *argv[]) {
        _cleanup_(args_done) Args a = { .backend = -1 };
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *t;
        int r;

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? EXIT_INVALIDARGUMENT : EXIT_SUCCESS;
        if (a.disable)
                return disable(&a);

        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return EXIT_FAILURE;
        }
        m->config_path = strdup(a.config ?: DEFAULT_CONFIG);
        m->pin_path = strdup(a.pin_path ?: FL_DEFAULT_PIN_PATH);
        if (!m->config_path || !m->pin_path) {
                log_oom();
                return EXIT_FAILURE;
        }
        m->version = PACKAGE_VERSION;
        m->cmdline_profile = a.profile;
        m->cmdline_backend = a.backend;
        /* For tests of a hanging polkit; the default is D-Bus's own. */
        t = getenv("FILELESSLOCK_POLKIT_TIMEOUT_SEC");
        if (t && atoi(t) > 0)
                m->polkit_timeout_usec = (uint64_t) atoi(t) * 1000000ULL;

        /* A broken configuration stops us before the kernel is touched. */
        r = manager_load_settings(m, &m->settings);
        if (r >= 0)
                r = manager_trust_check(&m->settings);
        if (r < 0) {
                notify_failure(r, "invalid configuration");
                return EXIT_NOTCONFIGURED;
        }

        r = manager_start(m);
        if (r < 0) {
                log_error("filelesslockd is NOT enforcing anything.");
                notify_failure(r, "cannot enforce");
                return exit_code_for(r);
        }

        return manager_run(m) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        const char *level;

        log_open();
        level = getenv("SYSTEMD_LOG_LEVEL");
        if (level && streq(level, "debug"))
                log_set_max_level(LOG_DEBUG);
        return run(argc, argv);
}
