/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "util.h"

/* Shared by conf.c (reading) and conf-write.c (the D-Bus drop-in). */

/* Sets *RET_ERROR (if not NULL) to "FNAME:LINE: message" (line 0: the file
 * as a whole) and returns -EINVAL, or -ENOMEM. */
int conf_error(char **ret_error, const char *fname, unsigned line, const char *format, ...) _printf_(4, 5);

int conf_parse_path(const char *path, Settings *settings, char **ret_error, bool missing_ok);

/* Calls FN for each drop-in of PATH.d in lexical order, until FN returns
 * non-zero. */
int conf_dropins_foreach(const char *path, int (*fn)(const char *dropin, const char *name, void *userdata),
                         void *userdata, char **ret_error);
