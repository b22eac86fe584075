/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define new0(t, n) ((t *) calloc((n), sizeof(t)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _sentinel_ __attribute__((sentinel))

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)             \
        static inline void func##p(type *p) {               \
                if (*p)                                     \
                        func(*p);                           \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

/* Moves the pointer out of *p, leaving NULL behind, for handing ownership
 * to the caller. */
#define TAKE_PTR(p)                       \
        ({                                \
                __typeof__(p) _p_ = (p);  \
                (p) = NULL;               \
                _p_;                      \
        })

#define TAKE_FD(fd)                       \
        ({                                \
                int _fd_ = (fd);          \
                (fd) = -1;                \
                _fd_;                     \
        })

/* kernel dev_t (MKDEV in include/linux/kdev_t.h) <-> user space dev_t */
#define KDEV_MINORBITS 20
static inline uint64_t kdev_from_major_minor(unsigned major, unsigned minor) {
        return ((uint64_t) major << KDEV_MINORBITS) | minor;
}
static inline unsigned kdev_major(uint64_t k) {
        return (unsigned) (k >> KDEV_MINORBITS);
}
static inline unsigned kdev_minor(uint64_t k) {
        return (unsigned) (k & ((1U << KDEV_MINORBITS) - 1));
}

/* A decimal number without sign, spaces or leading zeros, at most MAX. */
static inline bool parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t n = 0;

        if (!s || *s < '0' || *s > '9' || (s[0] == '0' && s[1]))
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                uint64_t d = (uint64_t) (*s - '0');

                if (d > max || n > (max - d) / 10)
                        return false;
                n = n * 10 + d;
        }
        if (*s)
                return false;
        *ret = n;
        return true;
}
