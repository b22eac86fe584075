/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "names.h"
#include "util.h"

static const char *const profile_table[_FL_PROFILE_MAX] = {
        [FL_PROFILE_ALLOW] = "allow",
        [FL_PROFILE_BASELINE] = "baseline",
        [FL_PROFILE_RESTRICTED] = "restricted",
};

static const char *const backend_table[_FL_BACKEND_MAX] = {
        [FL_BACKEND_LSM] = "lsm",
        [FL_BACKEND_TRACEPOINT] = "tracepoint",
        [FL_BACKEND_FMOD_RET] = "fmod_ret",
};

static const char *const kind_table[_FL_KIND_MAX] = {
        [FL_KIND_ORDINARY] = "ordinary",
        [FL_KIND_MEMFD] = "memfd",
        [FL_KIND_SHM] = "shm",
        [FL_KIND_TMPFILE] = "tmpfile",
        [FL_KIND_DELETED] = "deleted",
        [FL_KIND_USERNS] = "userns",
        [FL_KIND_DETACHED] = "detached",
};

static const char *const action_table[_FL_ACTION_MAX] = {
        [FL_ACTION_ALLOWED] = "allowed",
        [FL_ACTION_DENIED] = "denied",
        [FL_ACTION_KILLED] = "killed",
        [FL_ACTION_KILL_FAILED] = "kill-failed",
        [FL_ACTION_TRUSTED] = "allowed-trusted",
};

static const char *const op_table[_FL_OP_MAX] = {
        [FL_OP_EXEC] = "exec",
        [FL_OP_MMAP] = "mmap",
        [FL_OP_MPROTECT] = "mprotect",
};

static const char *lookup(const char *const *table, size_t n, int i) {
        return i >= 0 && (size_t) i < n ? table[i] : NULL;
}

static int reverse_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

int profile_from_string(const char *s) {
        /* Exact, case-sensitive matches only: a security setting that half
         * matched would be worse than an error. */
        if (s && (streq(s, "none") || streq(s, "privileged")))
                return FL_PROFILE_ALLOW;
        return reverse_lookup(profile_table, ELEMENTSOF(profile_table), s);
}

const char *profile_to_string(int profile) {
        return lookup(profile_table, ELEMENTSOF(profile_table), profile);
}

int backend_choice_from_string(const char *s) {
        if (s && streq(s, "auto"))
                return FL_BACKEND_CHOICE_AUTO;
        return reverse_lookup(backend_table, ELEMENTSOF(backend_table), s);
}

const char *backend_choice_to_string(int choice) {
        return choice == FL_BACKEND_CHOICE_AUTO ? "auto" : backend_to_string(choice);
}

const char *backend_to_string(int backend) {
        return lookup(backend_table, ELEMENTSOF(backend_table), backend);
}

const char *kind_to_string(int kind) {
        return lookup(kind_table, ELEMENTSOF(kind_table), kind);
}

const char *action_to_string(int action) {
        return lookup(action_table, ELEMENTSOF(action_table), action);
}

const char *op_to_string(int op) {
        return lookup(op_table, ELEMENTSOF(op_table), op);
}

bool unit_name_is_scope(const char *s) {
        static const char *const suffixes[] = { ".service", ".socket", ".mount", ".swap", ".slice", ".scope" };
        size_t n = s ? strlen(s) : 0;
        const char *dot;

        if (n == 0 || n >= FL_UNIT_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr(":-_.@\\", *p)))
                        return false;
        dot = strrchr(s, '.');
        if (!dot || dot == s || dot[-1] == '@')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (streq(dot, suffixes[i]))
                        return true;
        return false;
}

bool comma_list_has(const char *list, const char *word) {
        size_t len = strlen(word);

        for (const char *p = list; *p; p += strspn(p, ","))
                if (strncmp(p, word, len) == 0 && (p[len] == ',' || p[len] == 0))
                        return true;
                else
                        p += strcspn(p, ",");
        return false;
}
