/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "fileless.h"

/* Backend as chosen by the administrator: "auto" lets the daemon pick. */
enum fl_backend_choice {
        FL_BACKEND_CHOICE_AUTO = 0,
        FL_BACKEND_CHOICE_LSM = FL_BACKEND_LSM,
        FL_BACKEND_CHOICE_TRACEPOINT = FL_BACKEND_TRACEPOINT,
        FL_BACKEND_CHOICE_FMOD_RET = FL_BACKEND_FMOD_RET,
};

/* Accepts the names and the aliases "none" and "privileged" for allow.
 * Returns the profile or -EINVAL. */
int profile_from_string(const char *s);
/* The canonical name, or NULL for a value that is no profile. */
const char *profile_to_string(int profile);
/* "allow, baseline, restricted (aliases none, privileged)" for error messages. */
#define PROFILE_VALID_NAMES "allow (or its aliases none, privileged), baseline, restricted"

int backend_choice_from_string(const char *s);
const char *backend_choice_to_string(int choice);
#define BACKEND_VALID_NAMES "auto, lsm, fmod_ret, tracepoint"

const char *backend_to_string(int backend);
const char *kind_to_string(int kind);
const char *action_to_string(int action);
const char *op_to_string(int op);

/* A systemd unit that has processes, hence a cgroup a scope can apply to:
 * NAME.service, .socket, .mount, .swap, .slice or .scope, NAME made of
 * letters, digits and ":-_.@\\", at most 255 characters in all; a template
 * (foo@.service) has no processes. */
bool unit_name_is_scope(const char *s);

/* Whether the comma-separated LIST (mount options, the kernel's LSM list)
 * holds WORD as one of its items. */
bool comma_list_has(const char *list, const char *word);
#define SCOPE_UNIT_SUFFIXES ".service, .socket, .mount, .swap, .slice, .scope"
