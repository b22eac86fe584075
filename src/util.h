/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

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
