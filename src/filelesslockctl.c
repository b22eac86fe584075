/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* filelesslockctl: query and change filelesslockd over its D-Bus API, follow
 * its events live (Event signals) or read them back from the journal. */

#include <getopt.h>
#include <inttypes.h>
#include <time.h>

#include <systemd/sd-bus.h>

#if __has_include("config.h")
#include "config.h"
#endif
#include "ctl-print.h"
#include "ctl.h"
#include "names.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

bool arg_ask_password = true;
bool arg_json = false;
const char *arg_since = NULL;
uint64_t arg_since_usec = 0;
uint64_t arg_lines = UINT64_MAX;
const char *arg_directory = NULL;
static const char *arg_host = NULL;
static const char *arg_unit = NULL;
static const char *arg_machine = NULL;

static int bus_connect(sd_bus **ret) {
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(ret, arg_host);
        else if (arg_machine)
                r = sd_bus_open_system_machine(ret, arg_machine);
        else
                r = sd_bus_open_system(ret); /* honours DBUS_SYSTEM_BUS_ADDRESS */
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return 0;
}

static const char *bus_error_message(const sd_bus_error *e, int error) {
        if (e && e->message)
                return e->message;
        return strerror(error < 0 ? -error : error);
}

int bus_call_failed(const sd_bus_error *e, int r, const char *what) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_error("filelesslockd is not running: nothing owns " BUS_NAME " on the system bus.");
                return EXIT_NOT_RUNNING;
        }
        log_error("Failed to %s: %s", what, bus_error_message(e, r));
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                log_error("Authentication is required: run it without --no-ask-password, or as root (sudo).");
                return EXIT_ACCESS;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                return EXIT_ACCESS;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
                return EXIT_USAGE;
        return EXIT_FAILURE;
}

static void print_pinned(const PropertySet *set, int width) {
        const Property *pinned = property_get(set, "Pinned"), *path = property_get(set, "PinPath");

        printf("%*s: ", width, "Pinned");
        if (!pinned || pinned->type != VALUE_BOOLEAN)
                fputs("n/a", stdout);
        else if (pinned->b) {
                fputs("yes", stdout);
                if (path && path->type == VALUE_STRING && !isempty(path->str)) {
                        fputs(" (", stdout);
                        print_display(path->str);
                        fputc(')', stdout);
                }
        } else
                fputs("no", stdout);
        fputc('\n', stdout);
}

static int verb_status(sd_bus *bus, _unused_ char **args) {
        static const struct {
                const char *label;
                const char *key;
        } rows[] = {
                { "Profile", "Profile" },
                { "Unit profiles", "UnitProfiles" },
                { "Posture", "Posture" },
                { "Backend", "Backend" },
                { "Version", "Version" },
                { "Fileless executions", "FilelessExecutions" },
                { "Blocked", "Blocked" },
                { "Events lost", "EventsLost" },
                { "Events suppressed", "EventsSuppressed" },
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(property_set_done) PropertySet set = {};
        const int width = (int) strlen("Fileless executions");
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BUS_INTERFACE);
        if (r < 0)
                return bus_call_failed(&error, r, "query filelesslockd");

        r = property_set_read(reply, &set);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the properties of filelesslockd: %m");

        if (arg_json) {
                print_property_set_json(&set);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                print_property_row(&set, rows[i].label, rows[i].key, width);
        print_pinned(&set, width);
        fflush(stdout);
        return 0;
}

/* The Posture property alone: what on this machine affects fileless
 * execution, as the daemon sees it. */
static int verb_posture(sd_bus *bus, _unused_ char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(property_set_done) PropertySet set = {};
        Property *p;
        int r;

        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Posture", &error, &reply, "a(ss)");
        if (r < 0)
                return bus_call_failed(&error, r, "read the posture");
        set.v = p = new0(Property, 1);
        if (!p)
                return log_oom();
        set.n = 1;
        r = property_read_pairs(reply, p);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the posture: %m");
        print_pairs(p);
        return 0;
}

static int verb_set_profile(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (arg_ask_password) {
                r = sd_bus_set_allow_interactive_authorization(bus, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to allow interactive authorization: %m");
                /* The daemon waits up to 120 s for a password to be typed:
                 * wait for its answer a little longer than that. */
                r = sd_bus_set_method_call_timeout(bus, 130 * 1000000ULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the call timeout: %m");
                (void) polkit_agent_open();
        }

        if (arg_unit)
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "SetUnitProfile", &error, NULL,
                                       "ssb", arg_unit, args[0], (int) arg_ask_password);
        else
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "SetProfile", &error, NULL, "sb",
                                       args[0], (int) arg_ask_password);
        polkit_agent_close();
        if (r < 0)
                return bus_call_failed(&error, r, "set profile");
        return 0;
}

/* ---- command line ---- */

/* "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DD" (local time), or "-N" with an
 * optional unit s, sec, m, min, h or d (default s), meaning N ago. */
static int parse_since(const char *s, uint64_t *ret) {
        struct timespec now;

        if (s[0] == '-') {
                static const struct {
                        const char *suffix;
                        uint64_t usec;
                } units[] = {
                        { "", 1000000ULL },        { "s", 1000000ULL },        { "sec", 1000000ULL },
                        { "m", 60000000ULL },      { "min", 60000000ULL },     { "h", 3600000000ULL },
                        { "d", 86400000000ULL },
                };
                uint64_t n, now_usec;
                char *end;

                if (s[1] < '0' || s[1] > '9')
                        return -EINVAL;
                errno = 0;
                n = strtoull(s + 1, &end, 10);
                if (errno != 0)
                        return -EINVAL;
                if (clock_gettime(CLOCK_REALTIME, &now) < 0)
                        return -errno;
                now_usec = (uint64_t) now.tv_sec * 1000000ULL + (uint64_t) now.tv_nsec / 1000;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (streq(end, units[i].suffix)) {
                                if (n > UINT64_MAX / units[i].usec)
                                        return -ERANGE;
                                n *= units[i].usec;
                                *ret = n > now_usec ? 0 : now_usec - n;
                                return 0;
                        }
                return -EINVAL;
        }

        static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d" };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = {};
                const char *e;
                time_t t;

                e = strptime(s, formats[i], &tm);
                if (!e || *e)
                        continue;
                tm.tm_isdst = -1;
                t = mktime(&tm);
                if (t == (time_t) -1 || t < 0)
                        return -EINVAL;
                *ret = (uint64_t) t * 1000000ULL;
                return 0;
        }
        return -EINVAL;
}

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n"
               "\n"
               "Query or change the fileless execution lock (filelesslockd).\n"
               "\n"
               "Commands:\n"
               "  status                 Show profile, backend and counters (default)\n"
               "  posture                What else on this machine affects fileless execution:\n"
               "                         vm.memfd_noexec, noexec mounts, the BPF LSM, what the\n"
               "                         backend cannot see, trusted executables, unit scopes\n"
               "  set-profile PROFILE    Set the profile: " PROFILE_VALID_NAMES "\n"
               "                         (with --unit=, of one unit or slice; \"\" removes it)\n"
               "  monitor                Print events as they happen, until SIGINT/SIGTERM\n"
               "  events                 Print past events from the journal\n"
               "  measure [SECONDS]      What each attached program costs, measured for\n"
               "                         SECONDS (default 5, at most 60)\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show package version\n"
               "     --no-ask-password   Do not ask for a password (set-profile)\n"
               "     --json              One JSON object per line (status, posture, monitor,\n"
               "                         events)\n"
               "     --unit=UNIT         set-profile: the profile of UNIT's processes\n"
               "     --since=TIME        events: since \"YYYY-MM-DD HH:MM:SS\" or \"-30s\",\n"
               "                         \"-5min\", \"-1h\", \"-2d\" (that long ago)\n"
               "  -n --lines=N           events: at most the N most recent\n"
               "  -D --directory=DIR     events: read the journal files in DIR\n"
               "  -H --host=[USER@]HOST  Operate on a remote host (over ssh)\n"
               "  -M --machine=NAME      Operate on a local container\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage error or invalid profile,\n"
               "3 filelesslockd not running, 4 access denied.\n",
               PROGRAM);
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), or
 * -EXIT_USAGE. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_ASK_PASSWORD,
                ARG_JSON,
                ARG_SINCE,
                ARG_UNIT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "json", no_argument, NULL, ARG_JSON },
                { "since", required_argument, NULL, ARG_SINCE },
                { "unit", required_argument, NULL, ARG_UNIT },
                { "lines", required_argument, NULL, 'n' },
                { "directory", required_argument, NULL, 'D' },
                { "host", required_argument, NULL, 'H' },
                { "machine", required_argument, NULL, 'M' },
                {},
        };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hn:D:H:M:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s %s\n", PROGRAM, PACKAGE_VERSION);
                        return 0;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_SINCE:
                        r = parse_since(optarg, &arg_since_usec);
                        if (r < 0) {
                                log_error("Invalid --since='%s': expected \"YYYY-MM-DD HH:MM:SS\", \"YYYY-MM-DD\" "
                                          "or a time ago such as \"-30s\", \"-5min\", \"-1h\", \"-2d\".",
                                          optarg);
                                return -EXIT_USAGE;
                        }
                        arg_since = optarg;
                        break;
                case 'n':
                        if (!parse_uint64(optarg, UINT64_MAX - 1, &arg_lines)) {
                                log_error("Invalid --lines='%s': expected a number.", optarg);
                                return -EXIT_USAGE;
                        }
                        break;
                case ARG_UNIT:
                        arg_unit = optarg;
                        break;
                case 'D':
                        arg_directory = optarg;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case 'M':
                        arg_machine = optarg;
                        break;
                case ':':
                        log_error("Option '%s' needs an argument.", argv[optind - 1]);
                        return -EXIT_USAGE;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                log_error("Unknown or incomplete option '-%c'. See --help.", optopt);
                        else
                                log_error("Unknown or incomplete option '%s'. See --help.", argv[optind - 1]);
                        return -EXIT_USAGE;
                default:
                        log_error("Unhandled option.");
                        return -EXIT_USAGE;
                }

        if (arg_host && arg_machine) {
                log_error("--host= and --machine= cannot be combined.");
                return -EXIT_USAGE;
        }
        return 1;
}


static int verb_measure(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name;
        uint64_t runs, ns;
        uint64_t seconds = 5;
        bool first = true;
        int r;

        if (args[0] && !parse_uint64(args[0], 60, &seconds)) {
                log_error("Invalid duration '%s': expected 1 to 60 seconds.", args[0]);
                return EXIT_USAGE;
        }
        r = sd_bus_set_method_call_timeout(bus, (seconds + 10) * 1000000ULL);
        if (r < 0)
                return log_error_errno(r, "Failed to set the call timeout: %m");
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "MeasureHooks", &error, &reply, "u",
                               (uint32_t) seconds);
        if (r < 0)
                return bus_call_failed(&error, r, "measure the hooks");
        r = sd_bus_message_enter_container(reply, 'a', "(stt)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse the measurement: %m");
        if (arg_json)
                fputc('[', stdout);
        else
                printf("%-20s %10s %14s %10s\n", "HOOK", "RUNS", "NS", "NS/RUN");
        while ((r = sd_bus_message_read(reply, "(stt)", &name, &runs, &ns)) > 0) {
                if (arg_json)
                        printf("%s{\"hook\":\"%s\",\"runs\":%" PRIu64 ",\"ns\":%" PRIu64 "}", first ? "" : ",", name,
                               runs, ns);
                else
                        printf("%-20s %10" PRIu64 " %14" PRIu64 " %10" PRIu64 "\n", name, runs, ns,
                               runs ? ns / runs : 0);
                first = false;
        }
        if (arg_json)
                fputs("]\n", stdout);
        fflush(stdout);
        return r < 0 ? log_error_errno(r, "Failed to parse the measurement: %m") : 0;
}

typedef struct Verb {
        const char *name;
        int nargs;    /* -1: none or one */
        bool json;    /* --json applies */
        bool journal; /* reads the local journal: no bus, --since= and friends apply */
        int (*dispatch)(sd_bus *bus, char **args);
} Verb;

static const Verb verbs[] = {
        { "status", 0, true, false, verb_status },
        { "posture", 0, true, false, verb_posture },
        { "set-profile", 1, false, false, verb_set_profile },
        { "monitor", 0, true, false, verb_monitor },
        { "events", 0, true, true, verb_events },
        { "measure", -1, true, false, verb_measure },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* Returns 0 when the options fit the verb, else logs and returns EXIT_USAGE. */
static int verb_check(const Verb *v, int nargs) {
        if (v->nargs < 0 ? nargs > 1 : nargs != v->nargs) {
                log_error("Command '%s' takes %s argument%s, got %i.", v->name,
                          v->nargs < 0 ? "at most one" : v->nargs == 0 ? "no" : "exactly one",
                          v->nargs == 0 ? "s" : "", nargs);
                return EXIT_USAGE;
        }
        if (arg_json && !v->json) {
                log_error("--json is not supported by '%s'.", v->name);
                return EXIT_USAGE;
        }
        if (arg_unit && !streq(v->name, "set-profile")) {
                log_error("--unit= only applies to 'set-profile'.");
                return EXIT_USAGE;
        }
        if ((arg_since || arg_lines != UINT64_MAX || arg_directory) && !v->journal) {
                log_error("--since=, --lines= and --directory= only apply to 'events'.");
                return EXIT_USAGE;
        }
        if (v->journal && (arg_host || arg_machine)) {
                log_error("'%s' reads the local journal: --host= and --machine= do not apply.", v->name);
                return EXIT_USAGE;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *name;
        const Verb *v;
        int r, nargs;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? -r : EXIT_SUCCESS;

        name = optind < argc ? argv[optind] : "status";
        nargs = optind < argc ? argc - optind - 1 : 0;
        v = verb_find(name);
        if (!v) {
                log_error("Unknown command '%s'. See --help.", name);
                return EXIT_USAGE;
        }
        r = verb_check(v, nargs);
        if (r != 0)
                return r;

        if (!v->journal && bus_connect(&bus) < 0)
                return EXIT_FAILURE;

        r = v->dispatch(bus, argv + optind + (optind < argc));
        return r < 0 ? EXIT_FAILURE : r;
}
