/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <systemd/sd-bus.h>

#include "event-fields.h"

/* A property set as GetAll returns it: key → value, for the types the
 * interface uses (s, u, t, b). */
typedef enum ValueType {
        VALUE_NULL, /* a variant of another type: shown as null */
        VALUE_STRING,
        VALUE_UNSIGNED,
        VALUE_BOOLEAN,
        VALUE_PAIRS, /* a(ss) */
} ValueType;

typedef struct Property {
        char *key;
        ValueType type;
        char *str;
        uint64_t u;
        bool b;
        char **pairs; /* VALUE_PAIRS: 2 * n_pairs strings */
        size_t n_pairs;
} Property;

typedef struct PropertySet {
        Property *v;
        size_t n;
} PropertySet;

void property_set_done(PropertySet *p);
int property_set_read(sd_bus_message *m, PropertySet *ret);
/* An a(ss) the message is positioned on, into P (VALUE_PAIRS). */
int property_read_pairs(sd_bus_message *m, Property *p);
const Property *property_get(const PropertySet *p, const char *key);

void print_property_set_json(const PropertySet *p);
/* One line per property, "Label: value". */
void print_property_row(const PropertySet *p, const char *label, const char *key, int width);

/* An a(ss) as "key: value" lines aligned on the colon, or with --json as one
 * JSON object. */
void print_pairs(const Property *p);

/* An event as one JSON object (the D-Bus keys of event_field_table[]) or one
 * line for a human; either way one line, flushed at once. */
void print_event(const EventRecord *r);

/* S for a terminal: no control, invisible or direction character reaches
 * it raw; "-" for nothing. */
void print_display(const char *s);
