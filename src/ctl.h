/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* filelesslockctl's shared state: its options, its messages and its exit
 * statuses. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "util.h"

#define PROGRAM "filelesslockctl"
#define BUS_NAME "org.bpflock.Fileless1"
#define BUS_PATH "/org/bpflock/Fileless1"
#define BUS_INTERFACE "org.bpflock.Fileless1"

/* Exit statuses, part of the command line interface: scripts test them. */
enum {
        EXIT_USAGE = 2,       /* bad command line, or a profile the daemon refused */
        EXIT_NOT_RUNNING = 3, /* nobody owns BUS_NAME */
        EXIT_ACCESS = 4,      /* AccessDenied, InteractiveAuthorizationRequired */
};

extern bool arg_ask_password;
extern bool arg_json;
extern const char *arg_since;
extern uint64_t arg_since_usec;
extern uint64_t arg_lines; /* UINT64_MAX: all */
extern const char *arg_directory;

/* A client's messages are for a human at a terminal: the program name, no
 * priority prefix. Returns -abs(ERROR), so that "return log_error_errno()"
 * works; %m prints ERROR. */
int log_ctl(int error, const char *format, ...) _printf_(2, 3);
#define log_error(...) log_ctl(0, __VA_ARGS__)
#define log_warning(...) log_ctl(0, __VA_ARGS__)
#define log_error_errno(error, ...) log_ctl((error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_ctl((error), __VA_ARGS__)
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* Logs a failed call and returns the exit status that says why. */
int bus_call_failed(const sd_bus_error *e, int r, const char *what);

/* ctl-agent.c: pkttyagent, so that polkit can ask for a password on our
 * terminal (not for root, nor without a terminal). */
int polkit_agent_open(void);
void polkit_agent_close(void);

/* ctl-events.c */
int verb_monitor(sd_bus *bus, char **args);
int verb_events(sd_bus *bus, char **args);
