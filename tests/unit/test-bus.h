/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A bus for building and reading messages in the unit tests: sd-bus needs a
 * started connection to make and seal a message; this one is a socketpair
 * nobody answers, so nothing is ever sent. */

#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "tests.h"

#define FL_BUS_PATH "/org/bpflock/Fileless1"
#define FL_BUS_INTERFACE "org.bpflock.Fileless1"

#define ASSERT_OK(expr)                                                 \
        do {                                                            \
                int _r_ = (expr);                                       \
                if (_r_ < 0)                                            \
                        TEST_FAIL("%s = %s", #expr, strerror(-_r_));    \
        } while (0)

static sd_bus *test_bus;
static int test_bus_peer = -1;

static inline sd_bus *test_bus_get(void) {
        int sv[2];

        if (test_bus)
                return test_bus;
        ASSERT_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        ASSERT_OK(sd_bus_new(&test_bus));
        ASSERT_OK(sd_bus_set_fd(test_bus, sv[0], sv[0]));
        ASSERT_OK(sd_bus_start(test_bus));
        test_bus_peer = sv[1];
        return test_bus;
}

static inline void test_bus_free(void) {
        test_bus = sd_bus_close_unref(test_bus);
        if (test_bus_peer >= 0)
                close(test_bus_peer);
        test_bus_peer = -1;
}

/* A new Event signal to fill in. */
static inline sd_bus_message *test_bus_signal(void) {
        sd_bus_message *m = NULL;

        ASSERT_OK(sd_bus_message_new_signal(test_bus_get(), &m, FL_BUS_PATH, FL_BUS_INTERFACE, "Event"));
        return m;
}

/* Seals M as sending it would, and rewinds it for reading as a receiver. */
static inline void test_bus_seal(sd_bus_message *m) {
        static uint64_t cookie;

        ASSERT_OK(sd_bus_message_seal(m, ++cookie, 0));
        ASSERT_OK(sd_bus_message_rewind(m, 1));
}
