/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fl-payload: the code fl-load tries to run from a fileless file. Built twice
 * from this one source:
 *
 *   fl-payload         a dynamically linked program (exec'd, or run by ld.so)
 *   libfl-payload.so   a shared library (dlopen, LD_PRELOAD, LD_AUDIT)
 *
 * Either way its constructor proves that it ran: it writes one line to the
 * pipe whose descriptor number is in $FL_MARK_FD. fl-load says "ran" only when
 * that line arrives, so an outcome is measured, never assumed. Nothing else
 * happens here: no output, exit status 0.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_mark(const char *how) {
        static int done;
        const char *s = getenv("FL_MARK_FD");
        char buf[128], *end;
        long fd;
        int n;

        if (done || !s || !*s)
                return;
        errno = 0;
        fd = strtol(s, &end, 10);
        if (errno != 0 || *end || fd < 0 || fd > INT_MAX)
                return;
        done = 1;

        n = snprintf(buf, sizeof(buf), "fl-payload %s pid=%d\n", how, (int) getpid());
        if (n > 0)
                (void) !write((int) fd, buf, (size_t) n);
}

__attribute__((constructor)) static void fl_payload_init(void) {
#ifdef FL_PAYLOAD_PROGRAM
        write_mark("program");
#else
        write_mark("library");
#endif
}

#ifdef FL_PAYLOAD_PROGRAM
int main(void) {
        return 0;
}
#else
/* An LD_AUDIT module must say which audit interface it speaks, or ld.so
 * unloads it; the constructor has written the mark by then anyway. */
__attribute__((visibility("default"))) unsigned la_version(unsigned version);
__attribute__((visibility("default"))) unsigned la_version(unsigned version) {
        return version < LAV_CURRENT ? version : LAV_CURRENT;
}
#endif
