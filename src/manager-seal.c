/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sealed mode, the daemon's side: sealing, taking a sealed set over at
 * start, and one journal entry and one Tamper signal per refused attempt,
 * whether the kernel's guard refused it (the fl_tamper ring buffer) or the
 * daemon did (a loosening, --disable). */

#include <inttypes.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "bpf-seal.h"
#include "bus.h"
#include "cgroup-unit.h"
#include "escape.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

/* One attempt, as the journal and the Tamper signal carry it. */
typedef enum TamperField {
        TAMPER_FIELD_OP,
        TAMPER_FIELD_TARGET,
        TAMPER_FIELD_DETAIL,
        TAMPER_FIELD_PID,
        TAMPER_FIELD_UID,
        TAMPER_FIELD_COMM,
        TAMPER_FIELD_UNIT,
        TAMPER_FIELD_RESISTANCE,
        _TAMPER_FIELD_MAX,
} TamperField;

/* The journal field and the key of the Tamper signal of each, from one
 * table: the two never disagree. */
static const struct {
        const char *journal, *bus;
} tamper_field_table[_TAMPER_FIELD_MAX] = {
        [TAMPER_FIELD_OP] = { "TAMPER_OP", "Op" },
        [TAMPER_FIELD_TARGET] = { "TAMPER_TARGET", "Target" },
        [TAMPER_FIELD_DETAIL] = { "TAMPER_DETAIL", "Detail" },
        [TAMPER_FIELD_PID] = { "OFFENDER_PID", "Pid" },
        [TAMPER_FIELD_UID] = { "OFFENDER_UID", "Uid" },
        [TAMPER_FIELD_COMM] = { "OFFENDER_COMM", "Comm" },
        [TAMPER_FIELD_UNIT] = { "OFFENDER_UNIT", "Unit" },
        [TAMPER_FIELD_RESISTANCE] = { "TAMPER_RESISTANCE", "TamperResistance" },
};

typedef struct TamperRecord {
        char *value[_TAMPER_FIELD_MAX]; /* escaped already */
} TamperRecord;

static void tamper_record_done(TamperRecord *t) {
        for (size_t i = 0; i < _TAMPER_FIELD_MAX; i++)
                t->value[i] = mfree(t->value[i]);
}

const char *manager_tamper_resistance(Manager *m) {
        return tamper_level_to_string(m->bpf->sealed ? m->bpf->tamper_level : FL_TAMPER_NONE);
}

static int tamper_emit(Manager *m, const TamperRecord *t) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        if (!m->bus)
                return 0;
        r = sd_bus_message_new_signal(m->bus, &s, "/org/bpflock/Fileless1", "org.bpflock.Fileless1", "Tamper");
        if (r >= 0)
                r = sd_bus_message_open_container(s, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < _TAMPER_FIELD_MAX; i++)
                r = sd_bus_message_append(s, "{sv}", tamper_field_table[i].bus, "s", strempty(t->value[i]));
        if (r >= 0)
                r = sd_bus_message_close_container(s);
        return r < 0 ? r : sd_bus_send(m->bus, s, NULL);
}

static void tamper_send(Manager *m, const TamperRecord *t, const char *what) {
        _cleanup_(journal_fields_done) JournalFields f = {};
        const char *op = strempty(t->value[TAMPER_FIELD_OP]);
        int r;

        r = journal_fields_add(&f, "MESSAGE_ID=" FL_MESSAGE_TAMPER);
        /* Alert: a loss of enforcement seen on the tracepoint backend. */
        if (r >= 0)
                r = journal_fields_add(&f, "PRIORITY=%i", streq(op, "pins-gone") ? LOG_ALERT : LOG_WARNING);
        if (r >= 0 && isempty(t->value[TAMPER_FIELD_PID]))
                /* Seen after the fact (the tracepoint backend cannot deny) or
                 * refused by the daemon without a caller. */
                r = journal_fields_add(&f, "MESSAGE=%s while sealed: %s (%s) %s.",
                                       streq(op, "pins-gone") ? "Seen" : "Refused", what, op,
                                       strempty(t->value[TAMPER_FIELD_DETAIL]));
        else if (r >= 0)
                r = journal_fields_add(&f, "MESSAGE=Refused while sealed: %s (%s) by pid %s \"%s\", uid %s, unit %s.",
                                       what, op, t->value[TAMPER_FIELD_PID], strempty(t->value[TAMPER_FIELD_COMM]),
                                       strempty(t->value[TAMPER_FIELD_UID]),
                                       isempty(t->value[TAMPER_FIELD_UNIT]) ? "-" : t->value[TAMPER_FIELD_UNIT]);
        for (size_t i = 0; r >= 0 && i < _TAMPER_FIELD_MAX; i++)
                r = journal_fields_add(&f, "%s=%s", tamper_field_table[i].journal, strempty(t->value[i]));
        if (r < 0) {
                log_oom();
                return;
        }
        (void) journal_send(&f);
        m->tamper_logged++;
        r = tamper_emit(m, t);
        if (r < 0)
                log_debug_errno(r, "Failed to send a Tamper signal, ignoring: %m");
}

static const char *tamper_what(int op) {
        switch (op) {
        case FL_TAMPER_MAP_FD:
                return "a new fd of a guarded map";
        case FL_TAMPER_PROG_FD:
                return "a new fd of one of our programs";
        case FL_TAMPER_LINK_FD:
                return "a new fd of one of our links by id";
        case FL_TAMPER_MAP_WRITE:
                return "a write to a guarded map";
        case FL_TAMPER_UNLINK:
                return "removing a pin";
        case FL_TAMPER_RMDIR:
                return "removing the pin directory";
        case FL_TAMPER_RENAME:
                return "renaming a pin or the pin directory";
        case FL_TAMPER_UMOUNT:
                return "unmounting the bpffs of the pins";
        case FL_TAMPER_KILL:
                return "a signal to filelesslockd";
        case FL_TAMPER_PTRACE:
                return "tracing filelesslockd or writing its memory";
        case FL_TAMPER_DISABLE:
                return "filelesslockd --disable";
        case FL_TAMPER_PINS_GONE:
                return "the pins were removed";
        default:
                return "loosening the profile";
        }
}

static int handle_tamper(void *userdata, void *data, size_t size) {
        _cleanup_free_ char *unit = NULL, *user_unit = NULL;
        _cleanup_(tamper_record_done) TamperRecord t = {};
        const struct fl_tamper_event *e = data;
        Manager *m = userdata;
        const char *op;

        if (size < sizeof(*e))
                return 0;
        op = tamper_op_to_string((int) e->op);
        (void) cgroup_id_units(m->cgroup2_fd, m->cgroup2_mount, e->cgroup_id, &unit, &user_unit);
        t.value[TAMPER_FIELD_OP] = strdup(op ?: "unknown");
        (void) asprintf(&t.value[TAMPER_FIELD_TARGET], "%" PRIu64, (uint64_t) e->target);
        (void) asprintf(&t.value[TAMPER_FIELD_DETAIL], "%u", e->detail);
        (void) asprintf(&t.value[TAMPER_FIELD_PID], "%u", e->pid);
        (void) asprintf(&t.value[TAMPER_FIELD_UID], "%u", e->uid);
        t.value[TAMPER_FIELD_COMM] = escape_string(e->comm, sizeof(e->comm));
        t.value[TAMPER_FIELD_UNIT] = escape_string(strempty(unit), SIZE_MAX);
        t.value[TAMPER_FIELD_RESISTANCE] = strdup(manager_tamper_resistance(m));
        tamper_send(m, &t, tamper_what((int) e->op));
        return 0;
}

/* The name of process PID, or NULL. */
static char *pid_comm(pid_t pid) {
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char buf[64] = {};

        if (pid <= 0 || asprintf(&p, "/proc/%i/comm", (int) pid) < 0 || !(f = fopen(p, "re")) ||
            !fgets(buf, sizeof(buf), f))
                return NULL;
        buf[strcspn(buf, "\n")] = 0;
        return escape_string(buf, sizeof(buf));
}

void manager_tamper_refused(Manager *m, int op, const char *what, const ProfileChange *c) {
        _cleanup_(tamper_record_done) TamperRecord t = {};
        pid_t pid = c && c->has_caller ? c->pid : 0;

        t.value[TAMPER_FIELD_OP] = strdup(tamper_op_to_string(op));
        (void) asprintf(&t.value[TAMPER_FIELD_DETAIL], "%s", c ? c->how : "");
        if (pid > 0) {
                (void) asprintf(&t.value[TAMPER_FIELD_PID], "%i", (int) c->pid);
                (void) asprintf(&t.value[TAMPER_FIELD_UID], "%i", (int) c->uid);
                t.value[TAMPER_FIELD_UNIT] = escape_string(strempty(c->unit), SIZE_MAX);
        }
        t.value[TAMPER_FIELD_COMM] = pid_comm(pid);
        t.value[TAMPER_FIELD_RESISTANCE] = strdup(manager_tamper_resistance(m));
        tamper_send(m, &t, what);
}

static int tamper_watch(Manager *m) {
        int r;

        if (!m->rb || m->bpf->tamper_fd < 0)
                return 0;
        r = ring_buffer__add(m->rb, m->bpf->tamper_fd, handle_tamper, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the tamper ring buffer: %m");
        return 0;
}

static const char *resistance_explained(Manager *m) {
        return m->bpf->tamper_level == FL_TAMPER_DENIED
                       ? "the guard programs deny removing, replacing, unmounting or writing them, and signals "
                         "and ptrace to filelesslockd from anyone but PID 1"
                       : "only EVIDENT on the tracepoint backend: the maps are frozen and loosening is refused, but "
                         "root can still kill filelesslockd and remove the pins (that is logged while "
                         "filelesslockd runs), and with them enforcement";
}

int manager_seal(Manager *m, const ProfileChange *c, sd_bus_error *error) {
        _cleanup_free_ char *who = NULL;
        int r;

        if (m->bpf->sealed)
                return 0;
        r = fl_bpf_seal(m->bpf);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to seal: %s", strerror(-r));
        if (c->has_caller && asprintf(&who, " by uid %i, pid %i%s%s", (int) c->uid, (int) c->pid,
                                      c->unit ? ", unit " : "", strempty(c->unit)) < 0)
                who = NULL;
        (void) journal_struct(LOG_NOTICE, FL_MESSAGE_SEALED, "FILELESS_PROFILE=%s",
                              profile_to_string(m->settings.profile), "FILELESS_BACKEND=%s",
                              backend_to_string(m->bpf->backend), "TAMPER_RESISTANCE=%s",
                              manager_tamper_resistance(m),
                              MESSAGE("Sealed %s%s until reboot: profile %s and the unit scopes can only be "
                                      "tightened, no trusted executable can be added; %s.",
                                      c->how, strempty(who), profile_to_string(m->settings.profile),
                                      resistance_explained(m)),
                              NULL);
        (void) tamper_watch(m);
        manager_notify_status(m);
        (void) sd_bus_emit_properties_changed(m->bus, "/org/bpflock/Fileless1", "org.bpflock.Fileless1", "Sealed",
                                              "TamperResistance", NULL);
        return 0;
}

/* A restart while sealed: the configuration may ask for less than the
 * kernel enforces, which is refused and logged, or for more, which is
 * applied. */
static void adopt(Manager *m) {
        static const ProfileChange restart = { .how = "by a restart" };
        int truth = fl_bpf_get_profile(m->bpf);

        if (truth > 0 && truth != m->settings.profile) {
                if (truth > m->settings.profile) {
                        manager_tamper_refused(m, FL_TAMPER_LOOSEN, "a looser profile at a restart", &restart);
                        m->settings.profile = truth;
                } else
                        (void) manager_set_profile(m, NULL, m->settings.profile, &restart, NULL);
        }
        for (size_t i = 0; i < m->settings.n_scopes; i++) {
                ScopeSetting *s = &m->settings.scopes[i];
                int k = fl_bpf_get_scope(m->bpf, s->unit);

                if (k == s->profile)
                        continue;
                if (fl_bpf_set_scope(m->bpf, s->unit, s->profile) < 0) {
                        manager_tamper_refused(m, FL_TAMPER_LOOSEN, "a looser unit scope at a restart", &restart);
                        if (k > 0)
                                s->profile = k;
                }
        }
}

/* filelesslock.seal=1 (or =yes, =true, or the bare word) on the kernel
 * command line: where the command line is signed (a UKI), editing the
 * configuration cannot unseal the next boot. FILELESSLOCK_PROC_CMDLINE
 * names another file, for tests: it can only add a seal. */
static bool cmdline_seals(void) {
        const char *path = getenv("FILELESSLOCK_PROC_CMDLINE") ?: "/proc/cmdline";
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char buf[4096] = {}, *save = NULL;

        if (!f || !fgets(buf, sizeof(buf), f))
                return false;
        for (char *w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
                if (streq(w, "filelesslock.seal") || streq(w, "filelesslock.seal=1") ||
                    streq(w, "filelesslock.seal=yes") || streq(w, "filelesslock.seal=true"))
                        return true;
        return false;
}

int manager_seal_start(Manager *m) {
        static const ProfileChange boot = { .how = "by Seal=yes" },
                                   cmdline = { .how = "by filelesslock.seal on the kernel command line" };
        int r;

        if (m->bpf->sealed) {
                adopt(m);
                log_notice("Sealed until reboot (%s tamper resistance): %s.", manager_tamper_resistance(m),
                           resistance_explained(m));
                return tamper_watch(m);
        }
        if (cmdline_seals())
                r = manager_seal(m, &cmdline, NULL);
        else if (m->settings.seal)
                r = manager_seal(m, &boot, NULL);
        else
                return 0;
        return r < 0 ? log_error_errno(r, "Failed to seal as asked (Seal=yes or filelesslock.seal): %m") : 0;
}
