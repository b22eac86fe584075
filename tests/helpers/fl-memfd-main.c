/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fl-memfd-main [FILE [ARG...]]: a service's main process whose first act is
 * a fileless exec. Copies FILE (default /bin/true) into a memfd and execs it
 * through execveat(AT_EMPTY_PATH) with ARG... as its arguments, in the same
 * process: nothing else runs in between. The memfd is called $FL_MEMFD_NAME
 * (default fl-memfd-main), so that each unit's events can be told apart. Exit status 127 when the exec
 * itself failed (with the reason on stderr), 126 when setting up failed.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
        const char *file = argc > 1 ? argv[1] : "/bin/true", *name = getenv("FL_MEMFD_NAME");
        char *const true_argv[] = { "true", NULL };
        struct stat st;
        int src, fd;

        src = open(file, O_RDONLY | O_CLOEXEC);
        if (src < 0 || fstat(src, &st) < 0) {
                fprintf(stderr, "fl-memfd-main: %s: %s\n", file, strerror(errno));
                return 126;
        }
        fd = memfd_create(name && *name ? name : "fl-memfd-main", MFD_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "fl-memfd-main: memfd_create: %s\n", strerror(errno));
                return 126;
        }
        for (off_t off = 0; off < st.st_size;)
                if (sendfile(fd, src, &off, (size_t) (st.st_size - off)) <= 0) {
                        fprintf(stderr, "fl-memfd-main: copying %s: %s\n", file, strerror(errno));
                        return 126;
                }
        syscall(SYS_execveat, fd, "", argc > 2 ? argv + 2 : true_argv, environ, AT_EMPTY_PATH);
        fprintf(stderr, "fl-memfd-main: execveat: %s\n", strerror(errno));
        return 127;
}
