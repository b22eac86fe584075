/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <sys/stat.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool stderr_is_journal = false;

void log_set_max_level(int level) {
        max_level = level;
}

void log_open(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return;
        stderr_is_journal = st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        int saved = errno;
        va_list ap;

        error = error < 0 ? -error : error;
        if (level <= max_level) {
                /* %m in the format refers to the error we were given, not to errno. */
                errno = error;
                if (stderr_is_journal)
                        fprintf(stderr, "<%i>", level);
                va_start(ap, format);
                vfprintf(stderr, format, ap);
                va_end(ap);
                fputc('\n', stderr);
                fflush(stderr);
        }
        errno = saved;
        return -error;
}
