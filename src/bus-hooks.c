/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* MeasureHooks(): what each attached program costs, from the kernel's own
 * program statistics, for as long as a caller asks and no longer: the
 * statistics cost every BPF program on the machine a little while they are
 * on, so they are switched on (BPF_ENABLE_STATS, which lasts as long as its
 * fd) only for the measurement. */

#include <bpf/bpf.h>

#include "bpf-seal.h"
#include "bus-hooks.h"
#include "log.h"

#define MEASURE_SECONDS_MAX 60

typedef struct HookSample {
        char name[BPF_OBJ_NAME_LEN];
        uint64_t runs, ns;
} HookSample;

typedef struct Measurement {
        Manager *manager;
        sd_bus_message *message;
        sd_event_source *timer;
        int stats_fd;
        size_t n;
        HookSample before[FL_LINKS_MAX];
} Measurement;

static Measurement *measurement_free(Measurement *m) {
        if (!m)
                return NULL;
        sd_bus_message_unref(m->message);
        sd_event_source_disable_unref(m->timer);
        closep(&m->stats_fd);
        return mfree(m);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Measurement *, measurement_free);

/* Switched on for everyone by the administrator (sysctl
 * kernel.bpf_stats_enabled=1): then measuring needs no privilege of ours. */
static bool stats_enabled_by_sysctl(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
        int v = 0;

        return f && fscanf(f, "%d", &v) == 1 && v == 1;
}

static int sample(FlBpf *b, HookSample ret[FL_LINKS_MAX], size_t *ret_n) {
        for (size_t i = 0; i < b->n_links; i++) {
                struct bpf_link_info li = {};
                struct bpf_prog_info pi = {};
                uint32_t len = sizeof(li);
                _cleanup_close_ int fd = -1;

                if (bpf_obj_get_info_by_fd(b->link_fds[i], &li, &len) < 0)
                        return -errno;
                fd = bpf_prog_get_fd_by_id(li.prog_id);
                len = sizeof(pi);
                if (fd < 0 || bpf_obj_get_info_by_fd(fd, &pi, &len) < 0)
                        return -errno;
                memcpy(ret[i].name, pi.name, sizeof(ret[i].name));
                ret[i].name[sizeof(ret[i].name) - 1] = 0;
                ret[i].runs = pi.run_cnt;
                ret[i].ns = pi.run_time_ns;
        }
        *ret_n = b->n_links;
        return 0;
}

static int reply(Measurement *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *r = NULL;
        HookSample after[FL_LINKS_MAX];
        size_t n;
        int k;

        k = sample(m->manager->bpf, after, &n);
        if (k < 0)
                return sd_bus_reply_method_errnof(m->message, k, "Failed to read the program statistics: %m");
        k = sd_bus_message_new_method_return(m->message, &r);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "(stt)");
        for (size_t i = 0; k >= 0 && i < n && i < m->n; i++)
                k = sd_bus_message_append(r, "(stt)", after[i].name, after[i].runs - m->before[i].runs,
                                          after[i].ns - m->before[i].ns);
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, r, NULL);
}

static int on_done(sd_event_source *s, uint64_t usec, void *userdata) {
        _cleanup_(measurement_freep) Measurement *m = userdata;
        int r;

        m->timer = sd_event_source_unref(m->timer);
        r = reply(m);
        if (r < 0)
                log_warning_errno(r, "Failed to reply to MeasureHooks(): %m");
        m->manager->measuring = false;
        return 0;
}

int method_measure_hooks(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(measurement_freep) Measurement *m = NULL;
        Manager *manager = userdata;
        uint32_t seconds;
        int r;

        r = sd_bus_message_read(message, "u", &seconds);
        if (r < 0)
                return r;
        if (seconds == 0 || seconds > MEASURE_SECONDS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid duration %u s: expected 1 to %u seconds.", seconds,
                                         MEASURE_SECONDS_MAX);
        /* The statistics are read through program fds by id, which the guard
         * refuses to everybody once sealed, this daemon included. */
        if (manager->bpf->sealed && manager->bpf->tamper_level == FL_TAMPER_DENIED)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Sealed: the guard refuses program fds by id to everybody, so the programs' "
                                        "statistics cannot be read until reboot (bpftool cannot either).");
        if (manager->measuring)
                return sd_bus_error_set(error, "org.bpflock.Fileless1.Error.Busy",
                                        "A measurement is under way: one at a time.");

        m = new0(Measurement, 1);
        if (!m)
                return -ENOMEM;
        *m = (Measurement) { .manager = manager, .message = sd_bus_message_ref(message), .stats_fd = -1 };
        m->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (m->stats_fd < 0 && !stats_enabled_by_sysctl())
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "Failed to switch on the program statistics (%s)%s", strerror(errno),
                                         errno == EPERM ? ": that needs CAP_SYS_ADMIN, which filelesslockd.service "
                                                          "does not have; set kernel.bpf_stats_enabled=1 for the "
                                                          "measurement instead" : "");
        r = sample(manager->bpf, m->before, &m->n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the program statistics: %m");
        r = sd_event_add_time_relative(manager->event, &m->timer, CLOCK_MONOTONIC, seconds * 1000000ULL, 0,
                                       on_done, m);
        if (r < 0)
                return r;
        manager->measuring = true;
        TAKE_PTR(m);
        return 1;
}
