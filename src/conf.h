/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "names.h"

/* What the configuration files say. Unset fields keep the values they had
 * before parsing, so defaults go in first and the command line on top. */
typedef struct Settings {
        int profile; /* enum fl_profile */
        int backend; /* enum fl_backend_choice */
        uint64_t rate_limit_interval_usec; /* 0: events are never suppressed */
        unsigned rate_limit_burst;         /* 0: likewise */
        int tracepoint_mappings;           /* bool: the tracepoint backend judges executable mappings too */
} Settings;

#define RATE_LIMIT_INTERVAL_USEC_DEFAULT (10 * 1000000ULL)
#define RATE_LIMIT_BURST_DEFAULT 100U
#define RATE_LIMIT_BURST_MAX 1000000U

#define SETTINGS_DEFAULT                                                                  \
        ((Settings) { .profile = FL_PROFILE_BASELINE,                                     \
                      .backend = FL_BACKEND_CHOICE_AUTO,                                  \
                      .rate_limit_interval_usec = RATE_LIMIT_INTERVAL_USEC_DEFAULT,       \
                      .rate_limit_burst = RATE_LIMIT_BURST_DEFAULT,                       \
                      .tracepoint_mappings = false })

/* The drop-in that a profile set over D-Bus is saved in. */
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

/* Saves PROFILE in PATH.d/CONF_PROFILE_DROPIN, atomically and durably,
 * creating PATH.d (root's, 0755) if needed. On failure *ret_error says which
 * path and why. */
int conf_write_profile_dropin(const char *path, int profile, char **ret_error);

/* Whether a drop-in sorting after CONF_PROFILE_DROPIN sets Profile=, so that
 * what the D-Bus path saves would not be what a reload applies. Returns 1 and
 * that file's path in *ret_path, 0 if none, or a negative errno. */
int conf_profile_overridden(const char *path, char **ret_path);
