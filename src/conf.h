/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "names.h"

/* [Scope]: a profile for one systemd unit or slice. */
typedef struct ScopeSetting {
        char *unit;
        int profile; /* enum fl_profile; 0: no scope (removed by a later file) */
} ScopeSetting;

/* TrustedExecutable=: the path, and where it was set ("FILE:LINE"), for
 * errors found when it is resolved. */
typedef struct TrustedSetting {
        char *path;
        char *source;
} TrustedSetting;

/* What the configuration files say. Unset fields keep the values they had
 * before parsing, so defaults go in first and the command line on top.
 * Owns its lists: settings_done() frees them, settings_copy() copies. */
typedef struct Settings {
        int profile; /* enum fl_profile; 0 only in a drop-in layer that does not set it */
        int backend; /* enum fl_backend_choice */
        uint64_t rate_limit_interval_usec; /* 0: events are never suppressed */
        unsigned rate_limit_burst;         /* 0: likewise */
        int tracepoint_mappings;           /* bool: the tracepoint backend judges executable mappings too */
        int seal;                          /* bool: seal at start (and at a reload), until reboot */
        ScopeSetting *scopes;
        size_t n_scopes;
        TrustedSetting *trusted;
        size_t n_trusted;
} Settings;

void settings_done(Settings *s);
int settings_copy(Settings *dst, const Settings *src);
/* The profile of UNIT's scope, 0 if it has none. */
int settings_scope_profile(const Settings *s, const char *unit);
/* Sets (PROFILE > 0) or removes (0) UNIT's scope. */
int settings_set_scope(Settings *s, const char *unit, int profile);

#define RATE_LIMIT_INTERVAL_USEC_DEFAULT (10 * 1000000ULL)
#define RATE_LIMIT_BURST_DEFAULT 100U
#define RATE_LIMIT_BURST_MAX 1000000U

#define SETTINGS_DEFAULT                                                                  \
        ((Settings) { .profile = FL_PROFILE_BASELINE,                                     \
                      .backend = FL_BACKEND_CHOICE_AUTO,                                  \
                      .rate_limit_interval_usec = RATE_LIMIT_INTERVAL_USEC_DEFAULT,       \
                      .rate_limit_burst = RATE_LIMIT_BURST_DEFAULT,                       \
                      .tracepoint_mappings = false })

/* The drop-in that a profile or scope set over D-Bus is saved in. */
#define CONF_PROFILE_DROPIN "90-set-profile.conf"

/* "30", "30s", "500ms", "2min" (at most a day) to microseconds. */
int parse_interval(const char *s, uint64_t *ret_usec);

/* Parses one file. On a syntax error or an invalid value returns -EINVAL and
 * sets *ret_error to "FILE:LINE: problem". Nothing is applied to *settings
 * unless the whole file is valid. */
int conf_parse(FILE *f, const char *fname, Settings *settings, char **ret_error);

/* Loads PATH (a missing file is fine) and then PATH.d/ x.conf in lexical
 * order (a missing directory is fine). Any error leaves *settings untouched. */
int conf_load(const char *path, Settings *settings, char **ret_error);

/* The D-Bus layer: what PATH.d/CONF_PROFILE_DROPIN says (profile 0 if it
 * sets none, no scopes if it is missing). */
int conf_read_dropin(const char *path, Settings *ret, char **ret_error);

/* Saves LAYER's profile (if not 0) and scopes in PATH.d/CONF_PROFILE_DROPIN,
 * atomically and durably, creating PATH.d (root's, 0755) if needed. On
 * failure *ret_error says which path and why. */
int conf_write_dropin(const char *path, const Settings *layer, char **ret_error);

/* Whether a drop-in sorting after CONF_PROFILE_DROPIN sets Profile= (UNIT
 * NULL) or a [Scope] for UNIT, so that what the D-Bus path saves would not
 * be what a reload applies. Returns 1 and that file's path in *ret_path, 0 if
 * none, or a negative errno. */
int conf_overridden(const char *path, const char *unit, char **ret_path);
