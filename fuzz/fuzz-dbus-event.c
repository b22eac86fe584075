/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the daemon sends on D-Bus from hostile input, against the real sd-bus.
 *
 * bus_event_append() and bus_error_invalid_profile() (src/bus-event.c) are
 * what bus.c sends: the Event signal's a{sv}, made from the EventRecord that
 * event_record_from_kernel() makes of the ring buffer record, and the
 * InvalidArgs error of SetProfile(). sd-bus
 * refuses a string that is not valid UTF-8 in its own sense (noncharacters
 * included), and the daemon then sends nothing: an attacker who could get such
 * a string through would hide the exec from every D-Bus listener
 * (filelesslockctl monitor). The bus is a socketpair that nobody answers:
 * enough for sd-bus to build and seal messages, nothing is sent.
 * Invariants:
 *  - bus_event_append() succeeds, and the sealed signal reads back with
 *    exactly the documented keys (the introspection XML), each once and of
 *    its documented type, ExecComm, Unit, UserUnit and Scope exactly when
 *    there is one; strings are those of the journal fields, each printable;
 *    numbers are the record's;
 *  - bus_event_read() (filelesslockctl monitor) gives back the record;
 *  - the InvalidArgs error for an unknown profile is -EINVAL with that name,
 *    is accepted by sd-bus, printable, and names the value (escaped, cut at
 *    64 bytes with "..."), for every value sd-bus would have let reach the
 *    daemon.
 * Input layout: fuzz-event-input.h; the profile value is the unit string when
 * there is one, else the record's name. */

#include <errno.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <systemd/sd-bus.h>

#include "bus-event.h"
#include "event-fields.h"
#include "fuzz-common.h"
#include "fuzz-event-input.h"
#include "names.h"

#define BUS_PATH "/org/bpflock/Fileless1"
#define BUS_INTERFACE "org.bpflock.Fileless1"

static sd_bus *bus;
static uint64_t cookie;

/* The keys of the Event signal, their types and where their values come from:
 * dbus/org.bpflock.Fileless1.xml, which lists every key since 7c44920, and
 * org.bpflock.Fileless1(5), not bus-event.c (the manual does not list the
 * keys of 5c285e6, Script, ExecComm, PidNamespaceLevel, UserUnit, nor those
 * of 4a6569f and 568e4a2, Operation, Program, Scope, yet). A string is the
 * journal field FIELD ("the values are those of the journal entry"); a
 * number is the record's. */
enum { V_TIMESTAMP, V_PID, V_PPID, V_UID, V_GID, V_PROG_INODE, V_INODE, V_DEVICE, V_PIDNS, V_PIDNS_LEVEL, V_CGROUP, V_SCRIPT };
enum { ALWAYS, IF_EXEC_COMM, IF_UNIT, IF_USER_UNIT, IF_SCOPE };
static const struct {
        const char *key;
        char type;
        const char *field; /* for 's' */
        int value;         /* for 't', 'u' and 'b' */
        int when;
} event_keys[] = {
        { "Timestamp", 't', NULL, V_TIMESTAMP },
        { "Action", 's', "FILELESS_ACTION" },
        { "Operation", 's', "FILELESS_OPERATION" },
        { "Kind", 's', "FILELESS_KIND" },
        { "Profile", 's', "FILELESS_PROFILE" },
        { "Scope", 's', "FILELESS_SCOPE", 0, IF_SCOPE },
        { "Backend", 's', "FILELESS_BACKEND" },
        { "Script", 'b', NULL, V_SCRIPT },
        { "Pid", 'u', NULL, V_PID },
        { "PPid", 'u', NULL, V_PPID },
        { "Uid", 'u', NULL, V_UID },
        { "Gid", 'u', NULL, V_GID },
        { "Comm", 's', "FILELESS_COMM" },
        { "ExecComm", 's', "FILELESS_EXEC_COMM", 0, IF_EXEC_COMM },
        { "ParentComm", 's', "FILELESS_PARENT_COMM" },
        { "Program", 's', "FILELESS_PROGRAM" },
        { "ProgramInode", 't', NULL, V_PROG_INODE },
        { "FileName", 's', "FILELESS_FILE_NAME" },
        { "ExecPath", 's', "FILELESS_EXEC_PATH" },
        { "Inode", 't', NULL, V_INODE },
        { "Device", 't', NULL, V_DEVICE },
        { "PidNamespace", 't', NULL, V_PIDNS },
        { "PidNamespaceLevel", 'u', NULL, V_PIDNS_LEVEL },
        { "CgroupId", 't', NULL, V_CGROUP },
        { "Unit", 's', "FILELESS_UNIT", 0, IF_UNIT },
        { "UserUnit", 's', "FILELESS_USER_UNIT", 0, IF_USER_UNIT },
};
#define N_EVENT_KEYS (sizeof(event_keys) / sizeof(event_keys[0]))

static uint64_t expected_number(int which, const struct fl_event *e, uint64_t realtime_usec) {
        switch (which) {
        case V_TIMESTAMP:
                return realtime_usec;
        case V_SCRIPT:
                return !!(e->flags & FL_EVENT_SCRIPT);
        case V_PIDNS_LEVEL:
                return e->pidns_level;
        case V_PID:
                return e->pid;
        case V_PPID:
                return e->ppid;
        case V_UID:
                return e->uid;
        case V_GID:
                return e->gid;
        case V_PROG_INODE:
                return e->prog_inode;
        case V_INODE:
                return e->inode;
        case V_DEVICE:
                /* "as stat(2) returns it in st_dev"; the record has the
                 * kernel's encoding, major << 20 | minor */
                return makedev((unsigned) (e->dev >> 20), (unsigned) (e->dev & 0xfffff));
        case V_PIDNS:
                return e->pidns;
        case V_CGROUP:
                return e->cgroup_id;
        }
        abort();
}

#define CHECK_BUS(call)                                                 \
        do {                                                            \
                int _r_ = (call);                                       \
                if (_r_ < 0)                                            \
                        FUZZ_FAIL("%s = %s", #call, strerror(-_r_));    \
        } while (0)

/* The journal value of field NAME, as the journal entry has it. */
static char *journal_value(const EventRecord *r, const char *name) {
        EventField f = event_field_from_journal(name);
        char *v = NULL;

        if (f < 0 || !r->values[f].set)
                return NULL;
        CHECK_BUS(event_value_format(r, f, &v));
        return v;
}

static void check_event_signal(const FuzzEvent *fe, const EventRecord *rec) {
        const EventContext *ctx = fe->ctxp;
        uint64_t realtime_usec = ctx ? ctx->realtime_usec : 0;
        bool present[] = {
                [ALWAYS] = true,
                [IF_EXEC_COMM] = fe->e.exec_comm[0] != 0,
                [IF_UNIT] = ctx && ctx->unit && *ctx->unit,
                [IF_USER_UNIT] = ctx && ctx->user_unit && *ctx->user_unit,
                [IF_SCOPE] = ctx && ctx->scope && *ctx->scope,
        };
        size_t seen[N_EVENT_KEYS] = {};
        sd_bus_message *m = NULL;
        EventRecord back = {};
        int r;

        /* The daemon's own code (src/bus-event.c), on hostile input. */
        CHECK_BUS(sd_bus_message_new_signal(bus, &m, BUS_PATH, BUS_INTERFACE, "Event"));
        r = bus_event_append(m, rec);
        if (r < 0) {
                for (EventField f = 0; f < _EVENT_FIELD_MAX; f++)
                        if (rec->values[f].set && rec->values[f].str)
                                fuzz_dump(event_field_table[f].bus, rec->values[f].str, strlen(rec->values[f].str));
                FUZZ_FAIL("bus_event_append() = %s: bus_emit_event() would send no Event signal for this exec",
                          strerror(-r));
        }
        CHECK_BUS(sd_bus_message_seal(m, ++cookie, 0));

        /* What a listener reads. */
        CHECK_BUS(sd_bus_message_rewind(m, 1));
        CHECK_BUS(sd_bus_message_enter_container(m, 'a', "{sv}"));
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                size_t k;
                char type;

                CHECK_BUS(sd_bus_message_read(m, "s", &key));
                for (k = 0; k < N_EVENT_KEYS && strcmp(event_keys[k].key, key) != 0; k++)
                        ;
                if (k == N_EVENT_KEYS)
                        FUZZ_FAIL("the Event signal has the undocumented key \"%s\"", key);
                seen[k]++;
                CHECK_BUS(sd_bus_message_peek_type(m, &type, &contents));
                FUZZ_ASSERT(type == 'v');
                if (contents[0] != event_keys[k].type || contents[1] != 0)
                        FUZZ_FAIL("key %s has type %s, documented %c", key, contents, event_keys[k].type);
                if (event_keys[k].type == 's') {
                        const char *value;
                        char *sent = journal_value(rec, event_keys[k].field);

                        CHECK_BUS(sd_bus_message_read(m, "v", "s", &value));
                        FUZZ_ASSERT_STR(sent && strcmp(value, sent) == 0, key, value);
                        fuzz_check_text(key, value);
                        free(sent);
                } else {
                        uint64_t value, expected = expected_number(event_keys[k].value, &fe->e, realtime_usec);

                        if (event_keys[k].type == 'u') {
                                uint32_t u;

                                CHECK_BUS(sd_bus_message_read(m, "v", "u", &u));
                                value = u;
                        } else if (event_keys[k].type == 'b') {
                                int b;

                                CHECK_BUS(sd_bus_message_read(m, "v", "b", &b));
                                value = b;
                        } else
                                CHECK_BUS(sd_bus_message_read(m, "v", "t", &value));
                        if (value != expected)
                                FUZZ_FAIL("key %s is %llu, the record says %llu", key, (unsigned long long) value,
                                          (unsigned long long) expected);
                }
                CHECK_BUS(sd_bus_message_exit_container(m));
        }
        CHECK_BUS(r);
        CHECK_BUS(sd_bus_message_exit_container(m));
        for (size_t k = 0; k < N_EVENT_KEYS; k++) {
                size_t want = present[event_keys[k].when];

                if (seen[k] != want)
                        FUZZ_FAIL("key %s appears %zu times in the Event signal, expected %zu", event_keys[k].key,
                                  seen[k], want);
        }

        /* What filelesslockctl monitor reads: the same record. */
        CHECK_BUS(sd_bus_message_rewind(m, 1));
        r = bus_event_read(m, &back);
        if (r < 0)
                FUZZ_FAIL("bus_event_read() = %s on the daemon's own signal", strerror(-r));
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                const EventValue *a = &rec->values[f], *b = &back.values[f];

                FUZZ_ASSERT(a->set == b->set);
                if (!a->set)
                        continue;
                if (event_field_table[f].type == EVENT_TYPE_STRING)
                        FUZZ_ASSERT_STR(strcmp(a->str, b->str) == 0, event_field_table[f].bus, b->str);
                /* a device is 32 bits in the kernel (s_dev); more does not
                 * survive the st_dev conversion */
                else if (a->num != b->num && !(f == EVENT_DEVICE && a->num >> 32))
                        FUZZ_FAIL("%s reads back as %llu, the record has %llu", event_field_table[f].bus,
                                  (unsigned long long) b->num, (unsigned long long) a->num);
        }
        event_record_done(&back);
        sd_bus_message_unref(m);
}

/* org.bpflock.Fileless1(5): "the message names the value and the valid
 * ones". The value is quoted, escaped, and cut after 64 bytes with "..." (the
 * cut may split a UTF-8 sequence: its bytes are escaped then). */
static void check_names_value(const char *message, const char *value) {
        static const char prefix[] = "Invalid profile \"", middle[] = "\": valid profiles are ";
        size_t n = strnlen(value, 64), k;
        const char *q, *p;
        char *expected, *shown;

        FUZZ_ASSERT_STR(strncmp(message, prefix, strlen(prefix)) == 0, "InvalidArgs message", message);
        q = p = message + strlen(prefix);
        while (*p && *p != '"')
                p += *p == '\\' && p[1] ? 2 : 1;
        FUZZ_ASSERT_STR(strncmp(p, middle, strlen(middle)) == 0, "InvalidArgs message", message);
        FUZZ_ASSERT_STR(strcmp(p + strlen(middle), PROFILE_VALID_NAMES ".") == 0, "InvalidArgs message", message);

        k = (size_t) (p - q);
        shown = strndup(q, k);
        expected = malloc(n + 4);
        if (!shown || !expected)
                abort();
        memcpy(expected, value, n);
        memcpy(expected + n, "...", value[n] ? 3 : 0);
        fuzz_check_round_trip("the value in the InvalidArgs message", shown, expected, n + (value[n] ? 3 : 0));
        free(expected);
        free(shown);
}

static void check_set_profile_error(const char *value) {
        sd_bus_message *call = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        CHECK_BUS(sd_bus_message_new_method_call(bus, &call, BUS_INTERFACE, BUS_PATH, BUS_INTERFACE, "SetProfile"));
        /* Only what sd-bus lets through can reach handle_set_profile(). */
        if (sd_bus_message_append(call, "sb", value, 0) < 0)
                goto out;
        CHECK_BUS(sd_bus_message_seal(call, ++cookie, 0));
        if (profile_from_string(value) >= 0)
                goto out;

        /* The daemon's own code (src/bus-event.c), as handle_set_profile() calls it. */
        r = bus_error_invalid_profile(&error, value);
        FUZZ_ASSERT(r == -EINVAL);
        FUZZ_ASSERT(sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS));
        FUZZ_ASSERT(error.message);
        fuzz_check_text("InvalidArgs message", error.message);
        check_names_value(error.message, value);
        r = sd_bus_message_new_method_error(call, &reply, &error);
        if (r < 0) {
                fuzz_dump("profile", value, strlen(value));
                fuzz_dump("error message", error.message, strlen(error.message));
                FUZZ_FAIL("sd_bus_message_new_method_error() = %s: SetProfile() would get no answer",
                          strerror(-r));
        }
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(call);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        /* sv[1] stays open and unread: the bus is started, never answered. */
        CHECK_BUS(sd_bus_new(&bus));
        CHECK_BUS(sd_bus_set_fd(bus, sv[0], sv[0]));
        CHECK_BUS(sd_bus_start(bus));
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        EventRecord rec = {};
        FuzzEvent fe;
        char *name;
        int r;

        fuzz_event_decode(data, size, &fe);

        name = strndup(fe.e.name, sizeof(fe.e.name));
        if (!name)
                abort();
        check_set_profile_error(fe.unit ? fe.unit : name);
        free(name);

        r = event_record_from_kernel(&fe.e, fe.ctxp, &rec);
        if (r < 0)
                FUZZ_FAIL("event_record_from_kernel() failed: %s", strerror(-r));
        check_event_signal(&fe, &rec);

        event_record_done(&rec);
        fuzz_event_done(&fe);
        return 0;
}
