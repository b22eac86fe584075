/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Profile changes: the machine-wide profile and the unit scopes, from D-Bus,
 * from a reload, from any later caller, all the same way. */

#include <systemd/sd-daemon.h>

#include "bpf-seal.h"
#include "bus.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "names.h"

#define ERROR_OVERRIDDEN "org.bpflock.Fileless1.Error.Overridden"
#define ERROR_SEALED "org.bpflock.Fileless1.Error.Sealed"

void manager_notify_status(Manager *m) {
        (void) sd_notifyf(false, "STATUS=Profile %s%s, backend %s, %zu unit scope%s.",
                          profile_to_string(m->settings.profile),
                          m->settings.profile == FL_PROFILE_ALLOW ? " (logging only)" : "",
                          backend_to_string(m->bpf->backend), m->settings.n_scopes,
                          m->settings.n_scopes == 1 ? "" : "s");
}

static const char *profile_or_none(int p) {
        return p > 0 ? profile_to_string(p) : "none";
}

/* A change saved in our drop-in must be what a reload or restart applies:
 * refuse one that --profile or a later drop-in would undo. */
static int check_not_overridden(Manager *m, const char *unit, sd_bus_error *error) {
        _cleanup_free_ char *by = NULL;
        int r;

        if (!unit && m->cmdline_profile > 0)
                return sd_bus_error_setf(error, ERROR_OVERRIDDEN,
                                         "filelesslockd was started with --profile=%s, which wins at every reload "
                                         "and restart: change it there.", profile_to_string(m->cmdline_profile));
        r = conf_overridden(m->config_path, unit, &by);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the configuration drop-ins: %m");
        if (r > 0)
                return sd_bus_error_setf(error, ERROR_OVERRIDDEN,
                                         "%s sets %s%s after " CONF_PROFILE_DROPIN ", so a change saved there would "
                                         "be undone at the next reload: change it there.",
                                         by, unit ? "the scope of " : "Profile=", strempty(unit));
        return 0;
}

static void log_change(const char *unit, int old, int new, const ProfileChange *c) {
        const char *o = profile_or_none(old), *n = profile_or_none(new);
        _cleanup_free_ char *who = NULL, *what = NULL;

        if (c->has_caller &&
            asprintf(&who, " by uid %i, pid %i%s%s", (int) c->uid, (int) c->pid, c->unit ? ", unit " : "",
                     strempty(c->unit)) < 0)
                who = NULL;
        if (unit && asprintf(&what, " of %s", unit) < 0)
                what = NULL;
        (void) journal_struct(LOG_NOTICE, FL_MESSAGE_PROFILE_CHANGED, "FILELESS_OLD_PROFILE=%s", o,
                              "FILELESS_PROFILE=%s", n, "FILELESS_SCOPE=%s", strempty(unit),
                              "FILELESS_CALLER_UID=%i", c->has_caller ? (int) c->uid : -1,
                              "FILELESS_CALLER_PID=%i", c->has_caller ? (int) c->pid : 0,
                              "FILELESS_CALLER_UNIT=%s", strempty(c->unit),
                              MESSAGE("Fileless execution profile%s changed from %s to %s %s%s.", strempty(what), o,
                                      n, c->how, strempty(who)),
                              NULL);
}

static int kernel_get(Manager *m, const char *unit) {
        return unit ? fl_bpf_get_scope(m->bpf, unit) : fl_bpf_get_profile(m->bpf);
}

static int kernel_set(Manager *m, const char *unit, int profile) {
        int r;

        if (!unit)
                return fl_bpf_set_profile(m->bpf, profile);
        r = fl_bpf_set_scope(m->bpf, unit, profile);
        if (r >= 0 && kernel_get(m, unit) != profile)
                r = -EIO;
        return r < 0 ? r : 0;
}

static int settings_get(Manager *m, const char *unit) {
        return unit ? settings_scope_profile(&m->settings, unit) : m->settings.profile;
}

static int settings_put(Manager *m, const char *unit, int profile) {
        size_t j = 0;
        int r;

        if (!unit) {
                m->settings.profile = profile;
                return 0;
        }
        r = settings_set_scope(&m->settings, unit, profile);
        if (r < 0 || profile > 0)
                return r;
        /* A removed scope leaves the list. */
        for (size_t i = 0; i < m->settings.n_scopes; i++)
                if (streq(m->settings.scopes[i].unit, unit))
                        free(m->settings.scopes[i].unit);
                else
                        m->settings.scopes[j++] = m->settings.scopes[i];
        m->settings.n_scopes = j;
        return 0;
}

static void announce(Manager *m, const char *unit) {
        manager_notify_status(m);
        (void) bus_emit_properties_changed(m, unit ? "UnitProfiles" : "Profile");
}

/* After a failure: report what the kernel enforces, not what we hoped. */
static void resync(Manager *m, const char *unit) {
        int truth = kernel_get(m, unit);

        /* 0 is no profile for the machine (the programs deny then), only for
         * a unit (no scope). */
        if (truth < 0 || (truth == 0 && !unit) || (truth > 0 && !profile_to_string(truth))) {
                log_error("Cannot read back the profile in force%s%s: the programs treat an unknown profile as "
                          "restricted.", unit ? " of " : "", strempty(unit));
                truth = FL_PROFILE_RESTRICTED;
        }
        if (truth == settings_get(m, unit))
                return;
        log_error("The kernel now enforces profile %s%s%s, not %s.", profile_or_none(truth), unit ? " for " : "",
                  strempty(unit), profile_or_none(settings_get(m, unit)));
        if (settings_put(m, unit, truth) < 0)
                log_oom();
        announce(m, unit);
}

static int persist(Manager *m, const char *unit, int profile, char **why) {
        _cleanup_(settings_done) Settings layer = {};
        int r;

        r = conf_read_dropin(m->config_path, &layer, why);
        if (r < 0)
                return r;
        if (unit)
                r = settings_set_scope(&layer, unit, profile);
        else
                layer.profile = profile;
        if (r < 0)
                return r;
        return conf_write_dropin(m->config_path, &layer, why);
}

int manager_set_profile(Manager *m, const char *unit, int profile, const ProfileChange *c, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL;
        int old = settings_get(m, unit), r;

        if (c->persist && (r = check_not_overridden(m, unit, error)) < 0)
                return r;

        r = kernel_set(m, unit, profile);
        if (r == -EPERM && m->bpf->sealed) {
                /* fl_seal_ctl refused: a loosening while sealed. */
                manager_tamper_refused(m, FL_TAMPER_LOOSEN, unit ? "loosening a unit scope" : "loosening the profile",
                                       c);
                return sd_bus_error_setf(error, ERROR_SEALED,
                                         "Sealed until reboot: profile %s%s%s would loosen what is enforced (%s); "
                                         "only tightening is possible (allow < baseline < restricted; a unit scope "
                                         "cannot be removed, and a new one must be at least the machine's profile "
                                         "and every other scope's).",
                                         profile_or_none(profile), unit ? " for " : "", strempty(unit),
                                         profile_or_none(kernel_get(m, unit)));
        }
        if (r < 0) {
                resync(m, unit);
                /* Not the caller's fault: a plain failure, never an errno-derived
                 * name such as AccessDenied, which would blame polkit. */
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to apply profile %s%s%s: %s",
                                         profile_or_none(profile), unit ? " to " : "", strempty(unit), strerror(-r));
        }

        if (c->persist) {
                r = persist(m, unit, profile, &why);
                if (r < 0) {
                        /* Not saved means not changed: a profile that silently
                         * reverted at the next boot would be worse than an error. */
                        if (kernel_set(m, unit, old) < 0)
                                resync(m, unit);
                        log_error("Failed to save profile %s%s%s, keeping %s: %s", profile_or_none(profile),
                                  unit ? " for " : "", strempty(unit), profile_or_none(settings_get(m, unit)),
                                  why ?: strerror(-r));
                        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to save profile %s: %s",
                                                 profile_or_none(profile), why ?: strerror(-r));
                }
        }

        r = settings_put(m, unit, profile);
        if (r < 0)
                return log_oom();
        log_change(unit, old, profile, c);
        announce(m, unit);
        return 0;
}

void manager_apply_profiles(Manager *m, const Settings *s) {
        static const ProfileChange reload = { .how = "by a configuration reload" };
        bool changed = false;

        if (s->profile != m->settings.profile) {
                (void) manager_set_profile(m, NULL, s->profile, &reload, NULL);
                changed = true;
        }
        for (size_t i = 0; i < s->n_scopes; i++)
                if (settings_scope_profile(&m->settings, s->scopes[i].unit) != s->scopes[i].profile) {
                        (void) manager_set_profile(m, s->scopes[i].unit, s->scopes[i].profile, &reload, NULL);
                        changed = true;
                }
        /* Removed scopes: walk a copy of the names, the list shrinks as we go. */
        for (size_t i = m->settings.n_scopes; i > 0; i--) {
                _cleanup_free_ char *unit = strdup(m->settings.scopes[i - 1].unit);

                if (unit && settings_scope_profile(s, unit) == 0) {
                        (void) manager_set_profile(m, unit, 0, &reload, NULL);
                        changed = true;
                }
        }
        if (!changed)
                log_info("Configuration reloaded, profile %s and %zu unit scopes unchanged.",
                         profile_to_string(s->profile), s->n_scopes);
}
