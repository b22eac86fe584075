/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include "ctl-print.h"
#include "ctl.h"
#include "escape.h"

int log_ctl(int error, const char *format, ...) {
        va_list ap;

        error = error < 0 ? -error : error;
        fputs(PROGRAM ": ", stderr);
        errno = error; /* for %m */
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
        return -error;
}

void property_set_done(PropertySet *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].key);
                free(p->v[i].str);
                for (size_t j = 0; j < 2 * p->v[i].n_pairs; j++)
                        free(p->v[i].pairs[j]);
                free(p->v[i].pairs);
        }
        free(p->v);
        *p = (PropertySet) {};
}

int property_read_pairs(sd_bus_message *m, Property *p) {
        const char *a, *b;
        int r;

        p->type = VALUE_PAIRS;
        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &a, &b)) > 0) {
                char **v = realloc(p->pairs, (2 * p->n_pairs + 2) * sizeof(char *));

                if (!v)
                        return -ENOMEM;
                p->pairs = v;
                v[2 * p->n_pairs] = strdup(a);
                v[2 * p->n_pairs + 1] = strdup(b);
                p->n_pairs++;
                if (!v[2 * p->n_pairs - 2] || !v[2 * p->n_pairs - 1])
                        return -ENOMEM;
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

/* Reads the variant the message is positioned on (signature CONTENTS). */
static int read_variant(sd_bus_message *m, const char *contents, Property *p) {
        const char *s;
        uint32_t u32 = 0;
        int b = 0, r;

        if (streq(contents, "a(ss)"))
                return property_read_pairs(m, p);

        switch (strlen(contents) == 1 ? contents[0] : 0) {
        case 's':
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r >= 0 && !(p->str = strdup(s)))
                        r = -ENOMEM;
                p->type = VALUE_STRING;
                return r;
        case 'u':
                r = sd_bus_message_read_basic(m, 'u', &u32);
                p->u = u32;
                p->type = VALUE_UNSIGNED;
                return r;
        case 't':
                p->type = VALUE_UNSIGNED;
                return sd_bus_message_read_basic(m, 't', &p->u);
        case 'b':
                r = sd_bus_message_read_basic(m, 'b', &b);
                p->b = b;
                p->type = VALUE_BOOLEAN;
                return r;
        default:
                p->type = VALUE_NULL;
                return sd_bus_message_skip(m, contents);
        }
}

static int read_entry(sd_bus_message *m, PropertySet *set) {
        const char *key, *contents;
        Property *v, *p;
        int r;

        r = sd_bus_message_read(m, "s", &key);
        if (r >= 0)
                r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        v = realloc(set->v, (set->n + 1) * sizeof(Property));
        if (!v)
                return -ENOMEM;
        set->v = v;
        p = &set->v[set->n];
        *p = (Property) { .key = strdup(key) };
        if (!p->key)
                return -ENOMEM;
        set->n++;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r >= 0)
                r = read_variant(m, contents, p);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

int property_set_read(sd_bus_message *m, PropertySet *ret) {
        _cleanup_(property_set_done) PropertySet set = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = read_entry(m, &set);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = set;
        set = (PropertySet) {};
        return 0;
}

const Property *property_get(const PropertySet *p, const char *key) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->v[i].key, key))
                        return &p->v[i];
        return NULL;
}

/* JSON strings are UTF-8: a stray byte becomes U+FFFD, and the characters
 * that hide or reorder text are escaped as \uXXXX like controls. */
static void json_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                uint32_t cp = 0;
                size_t len = utf8_decode(p, strlen((const char *) p), &cp);

                if (len == 0)
                        fputs("\\ufffd", f), len = 1;
                else if (cp == '"' || cp == '\\')
                        fprintf(f, "\\%c", (char) cp);
                else if (cp == '\n')
                        fputs("\\n", f);
                else if (cp == '\t')
                        fputs("\\t", f);
                else if (cp < 0x20 || cp == 0x7f || unichar_is_deceptive(cp))
                        fprintf(f, "\\u%04x", (unsigned) cp);
                else
                        fwrite(p, 1, len, f);
                p += len;
        }
        fputc('"', f);
}

void print_property_set_json(const PropertySet *set) {
        fputc('{', stdout);
        for (size_t i = 0; i < set->n; i++) {
                const Property *p = &set->v[i];

                if (i > 0)
                        fputc(',', stdout);
                json_string(stdout, p->key);
                fputc(':', stdout);
                if (p->type == VALUE_STRING)
                        json_string(stdout, p->str);
                else if (p->type == VALUE_UNSIGNED)
                        printf("%" PRIu64, p->u);
                else if (p->type == VALUE_BOOLEAN)
                        fputs(p->b ? "true" : "false", stdout);
                else if (p->type == VALUE_PAIRS) {
                        fputc('[', stdout);
                        for (size_t j = 0; j < p->n_pairs; j++) {
                                fputs(j > 0 ? ",[" : "[", stdout);
                                json_string(stdout, p->pairs[2 * j]);
                                fputc(',', stdout);
                                json_string(stdout, p->pairs[2 * j + 1]);
                                fputc(']', stdout);
                        }
                        fputc(']', stdout);
                } else
                        fputs("null", stdout);
        }
        fputs("}\n", stdout);
        fflush(stdout);
}

void print_pairs(const Property *p) {
        int width = 0;

        if (arg_json) {
                fputc('{', stdout);
                for (size_t j = 0; j < p->n_pairs; j++) {
                        if (j > 0)
                                fputc(',', stdout);
                        json_string(stdout, p->pairs[2 * j]);
                        fputc(':', stdout);
                        json_string(stdout, p->pairs[2 * j + 1]);
                }
                fputs("}\n", stdout);
                fflush(stdout);
                return;
        }
        for (size_t j = 0; j < p->n_pairs; j++)
                width = MAX(width, (int) strlen(p->pairs[2 * j]));
        for (size_t j = 0; j < p->n_pairs; j++) {
                _cleanup_free_ char *key = escape_display(p->pairs[2 * j]);

                printf("%*s: ", width, key ?: "?");
                print_display(p->pairs[2 * j + 1]);
                fputc('\n', stdout);
        }
        fflush(stdout);
}

void print_display(const char *s) {
        _cleanup_free_ char *d = NULL;

        if (isempty(s)) {
                fputc('-', stdout);
                return;
        }
        d = escape_display(s);
        fputs(d ?: "?", stdout);
}

void print_property_row(const PropertySet *set, const char *label, const char *key, int width) {
        const Property *p = property_get(set, key);

        printf("%*s: ", width, label);
        if (!p || p->type == VALUE_NULL)
                fputs("n/a", stdout);
        else if (p->type == VALUE_STRING)
                print_display(p->str);
        else if (p->type == VALUE_UNSIGNED)
                printf("%" PRIu64, p->u);
        else if (p->type == VALUE_PAIRS) {
                if (p->n_pairs == 0)
                        fputs("none", stdout);
                for (size_t j = 0; j < p->n_pairs; j++) {
                        if (j > 0)
                                printf("\n%*s  ", width, "");
                        print_display(p->pairs[2 * j]);
                        fputs(": ", stdout);
                        print_display(p->pairs[2 * j + 1]);
                }
        } else
                fputs(p->b ? "yes" : "no", stdout);
        fputc('\n', stdout);
}

static void print_event_json(const EventRecord *r) {
        bool first = true;

        fputc('{', stdout);
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                const EventValue *v = &r->values[f];

                if (!v->set)
                        continue;
                if (!first)
                        fputc(',', stdout);
                first = false;
                json_string(stdout, event_field_table[f].bus);
                fputc(':', stdout);
                if (event_field_table[f].type == EVENT_TYPE_STRING)
                        json_string(stdout, strempty(v->str));
                else if (event_field_table[f].type == EVENT_TYPE_BOOL)
                        fputs(v->num ? "true" : "false", stdout);
                else if (event_field_table[f].type == EVENT_TYPE_DEVICE)
                        printf("%" PRIu64, (uint64_t) makedev(kdev_major(v->num), kdev_minor(v->num)));
                else
                        printf("%" PRIu64, v->num);
        }
        fputs("}\n", stdout);
}

static void print_event_number(const EventRecord *r, EventField f, const char *label) {
        uint64_t v;

        if (event_record_number(r, f, &v))
                printf(" %s %" PRIu64, label, v);
        else
                printf(" %s n/a", label);
}

static void print_event_human(const EventRecord *r) {
        char buf[64] = "n/a";
        uint64_t ts = 0;
        struct tm tm;
        time_t sec;

        if (event_record_number(r, EVENT_TIMESTAMP, &ts) && ts > 0) {
                sec = (time_t) (ts / 1000000);
                if (!localtime_r(&sec, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
                        strcpy(buf, "n/a");
        }

        fputs(buf, stdout);
        fputc(' ', stdout);
        print_display(event_record_string(r, EVENT_ACTION));
        fputc(' ', stdout);
        print_display(event_record_string(r, EVENT_KIND));
        fputc(' ', stdout);
        print_display(event_record_string(r, EVENT_FILE_NAME));
        print_event_number(r, EVENT_PID, "pid");
        fputs(" (", stdout);
        print_display(event_record_string(r, EVENT_COMM));
        fputc(')', stdout);
        print_event_number(r, EVENT_UID, "uid");
        fputs(" via ", stdout);
        print_display(event_record_string(r, EVENT_EXEC_PATH));
        fputc('\n', stdout);
}

void print_event(const EventRecord *r) {
        if (arg_json)
                print_event_json(r);
        else
                print_event_human(r);
        /* One line at a time: a reader at the other end of a pipe wants each
         * event as it happens. */
        fflush(stdout);
}
