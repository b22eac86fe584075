/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <sys/sysmacros.h>

#include "bus-event.h"
#include "escape.h"
#include "names.h"
#include "util.h"

static int append_value(sd_bus_message *m, const EventRecord *r, EventField f) {
        const EventFieldInfo *info = &event_field_table[f];
        const EventValue *v = &r->values[f];
        char sig[2] = { event_type_bus_signature(info->type), 0 };

        switch (info->type) {
        case EVENT_TYPE_STRING:
                return sd_bus_message_append(m, "{sv}", info->bus, sig, strempty(v->str));
        case EVENT_TYPE_U32:
                return sd_bus_message_append(m, "{sv}", info->bus, sig, (uint32_t) v->num);
        case EVENT_TYPE_BOOL:
                return sd_bus_message_append(m, "{sv}", info->bus, sig, (int) !!v->num);
        case EVENT_TYPE_DEVICE:
                return sd_bus_message_append(m, "{sv}", info->bus, sig,
                                             (uint64_t) makedev(kdev_major(v->num), kdev_minor(v->num)));
        default:
                return sd_bus_message_append(m, "{sv}", info->bus, sig, v->num);
        }
}

int bus_event_append(sd_bus_message *m, const EventRecord *r) {
        int k;

        k = sd_bus_message_open_container(m, 'a', "{sv}");
        if (k < 0)
                return k;
        for (EventField f = 0; f < _EVENT_FIELD_MAX; f++) {
                if (!r->values[f].set)
                        continue;
                k = append_value(m, r, f);
                if (k < 0)
                        return k;
        }
        return sd_bus_message_close_container(m);
}

static int read_value(sd_bus_message *m, EventRecord *r, EventField f) {
        const char *s;
        uint32_t u32 = 0;
        uint64_t u64 = 0;
        int b = 0, k;

        switch (event_field_table[f].type) {
        case EVENT_TYPE_STRING:
                /* As the daemon sent it: escaped already. */
                k = sd_bus_message_read_basic(m, 's', &s);
                return k < 0 ? k : event_value_parse(r, f, s);
        case EVENT_TYPE_U32:
                k = sd_bus_message_read_basic(m, 'u', &u32);
                u64 = u32;
                break;
        case EVENT_TYPE_BOOL:
                k = sd_bus_message_read_basic(m, 'b', &b);
                u64 = !!b;
                break;
        case EVENT_TYPE_DEVICE:
                k = sd_bus_message_read_basic(m, 't', &u64);
                u64 = kdev_from_major_minor(major(u64), minor(u64));
                break;
        default:
                k = sd_bus_message_read_basic(m, 't', &u64);
        }
        if (k < 0)
                return k;
        event_record_set_number(r, f, u64);
        return 0;
}

static int read_entry(sd_bus_message *m, EventRecord *r) {
        const char *key, *contents;
        EventField f;
        int k;

        k = sd_bus_message_read(m, "s", &key);
        if (k < 0)
                return k;
        k = sd_bus_message_peek_type(m, NULL, &contents);
        if (k < 0)
                return k;
        f = event_field_from_bus(key);
        if (f < 0)
                return sd_bus_message_skip(m, "v");
        if (contents[0] != event_type_bus_signature(event_field_table[f].type) || contents[1])
                return -EBADMSG;
        k = sd_bus_message_enter_container(m, 'v', contents);
        if (k < 0)
                return k;
        k = read_value(m, r, f);
        if (k < 0)
                return k;
        return sd_bus_message_exit_container(m);
}

int bus_event_read(sd_bus_message *m, EventRecord *ret) {
        _cleanup_(event_record_done) EventRecord r = {};
        int k;

        k = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                k = read_entry(m, &r);
                if (k < 0)
                        return k;
                k = sd_bus_message_exit_container(m);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        k = sd_bus_message_exit_container(m);
        if (k < 0)
                return k;
        *ret = r;
        r = (EventRecord) {};
        return 0;
}

int bus_error_invalid_profile(sd_bus_error *error, const char *value) {
        _cleanup_free_ char *shown = escape_excerpt(value, 64);

        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Invalid profile \"%s\": valid profiles are " PROFILE_VALID_NAMES ".",
                                 strempty(shown));
}
