/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bpf-loader.h"
#include "fileless-guard.h"

/* Sealed mode, the kernel side (bpf/fileless-guard.bpf.c). */

/* Seals: loads the guard (its programs on lsm and fmod_ret, only its maps
 * and fl_seal_ctl on tracepoint), pins it, freezes the maps and marks the
 * state sealed. One way until reboot. */
int fl_bpf_seal(FlBpf *b);

/* Whether PIN_PATH holds a sealed set: 1 and the state in *RET, 0 not
 * sealed (nothing pinned by a seal), or a negative errno. Needs no guarded
 * fd, so it works for --disable and a restart alike. */
int fl_seal_query(const char *pin_path, struct fl_seal_ctl *ret);

/* Takes over a sealed set at start: the events, the links and fl_seal_ctl,
 * no fd of a frozen map. Returns 1 if sealed (taken over), 0 if not. */
int fl_seal_takeover(FlBpf *b);

/* The loader's operations while sealed: see bpf-loader.h. */
int fl_seal_get_profile(FlBpf *b);
int fl_seal_set_profile(FlBpf *b, int profile);
int fl_seal_get_scope(FlBpf *b, const char *unit);
int fl_seal_set_scope(FlBpf *b, const char *unit, int profile);
char *fl_seal_scope_name(FlBpf *b, uint32_t id);
int fl_seal_read_stats(FlBpf *b, uint64_t ret[_FL_STAT_MAX], uint64_t *ret_tampered);
int fl_seal_pins_intact(FlBpf *b);

const char *tamper_level_to_string(int level);
const char *tamper_op_to_string(int op);
