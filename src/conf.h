/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "names.h"

/* What the configuration files say. Unset fields keep the values they had
 * before parsing, so defaults go in first and the command line on top. */
typedef struct Settings {
        int profile; /* enum fl_profile */
        int backend; /* enum fl_backend_choice */
} Settings;

#define SETTINGS_DEFAULT ((Settings) { .profile = FL_PROFILE_BASELINE, .backend = FL_BACKEND_CHOICE_AUTO })

/* Parses one file. On a syntax error or an invalid value returns -EINVAL and
 * sets *ret_error to "FILE:LINE: problem". Nothing is applied to *settings
 * unless the whole file is valid. */
int conf_parse(FILE *f, const char *fname, Settings *settings, char **ret_error);

/* Loads PATH (a missing file is fine) and then PATH.d/ x.conf in lexical
 * order (a missing directory is fine). Any error leaves *settings untouched. */
int conf_load(const char *path, Settings *settings, char **ret_error);
