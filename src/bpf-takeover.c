/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Taking over the pins of an earlier instance, without a gap in enforcement:
 * only a set this daemon would have pinned itself, checked object by object,
 * because anybody who could write to the pin directory, or a daemon of
 * another version, may have left something else there. Every object is
 * reached through a pin (BPF_OBJ_GET needs only access to the file), none by
 * id: that needs CAP_SYS_ADMIN, which the unit's bounding set lacks. */

#include <bpf/bpf.h>
#include <fcntl.h>

#include "bpf-objects.h"
#include "bpf-pins.h"
#include "log.h"
#include "names.h"

#define PROG_MAPS_MAX 16

/* Does the map behind FD look like EXPECTED: type, key and value sizes,
 * entries and name? WHY says what differs. */
static bool map_matches(int fd, const struct bpf_map *expected, char **why) {
        struct bpf_map_info mi = {};
        uint32_t len = sizeof(mi);

        if (bpf_obj_get_info_by_fd(fd, &mi, &len) < 0) {
                (void) asprintf(why, "not a BPF map (%s)", strerror(errno));
                return false;
        }
        if (mi.type != bpf_map__type(expected) || mi.key_size != bpf_map__key_size(expected) ||
            mi.value_size != bpf_map__value_size(expected) || mi.max_entries != bpf_map__max_entries(expected) ||
            strncmp(mi.name, bpf_map__name(expected), sizeof(mi.name) - 1) != 0) {
                (void) asprintf(why,
                                "map \"%.*s\" of type %u with key size %u, value size %u and %u entries, expected "
                                "\"%s\" of type %u with %u, %u and %u",
                                (int) sizeof(mi.name), mi.name, mi.type, mi.key_size, mi.value_size, mi.max_entries,
                                bpf_map__name(expected), (unsigned) bpf_map__type(expected),
                                bpf_map__key_size(expected), bpf_map__value_size(expected),
                                bpf_map__max_entries(expected));
                return false;
        }
        return true;
}

/* The ids of the maps a program of ours may use besides the pinned
 * map_pin_names: the others of the object (task storage, scratch space),
 * pinned as aux pins and checked already. */
typedef struct AuxMaps {
        uint32_t ids[FL_AUX_PINS_MAX];
        size_t n;
} AuxMaps;

/* Is map ID one of ours? Ids only: an fd by id needs CAP_SYS_ADMIN, which
 * the unit does not have. */
static bool map_id_is_ours(const FlBpf *b, const AuxMaps *aux, uint32_t id, bool used[_FL_MAP_MAX]) {
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                if (bpf_object_id(b->map_fds[i]) == id) {
                        used[i] = true;
                        return true;
                }
        for (size_t i = 0; i < aux->n; i++)
                if (aux->ids[i] == id)
                        return true;
        return false;
}

/* The link pinned for PROG: attached to the program pinned next to it,
 * which has PROG's name and type and uses no map that is not ours. */
static int link_check(FlBpf *b, const AuxMaps *aux, const struct bpf_program *prog, bool used[_FL_MAP_MAX],
                      char **why) {
        _cleanup_free_ char *name = NULL, *prog_name = NULL;
        _cleanup_close_ int fd = -1, prog_fd = -1;
        struct bpf_link_info li = {};
        struct bpf_prog_info pi = {};
        uint32_t map_ids[PROG_MAPS_MAX], len;
        int r;

        if (link_pin_name(prog, &name) < 0 || prog_pin_name(prog, &prog_name) < 0)
                return -ENOMEM;
        fd = pin_open(b->pin_path, name);
        if (fd < 0)
                return asprintf(why, "%s: %s", name, strerror(-fd)) < 0 ? -ENOMEM : 0;
        prog_fd = pin_open(b->pin_path, prog_name);
        if (prog_fd < 0)
                return asprintf(why, "%s: %s", prog_name, strerror(-prog_fd)) < 0 ? -ENOMEM : 0;
        len = sizeof(li);
        if (bpf_obj_get_info_by_fd(fd, &li, &len) < 0)
                return asprintf(why, "%s is no link", name) < 0 ? -ENOMEM : 0;
        if (li.prog_id == 0 || li.prog_id != bpf_object_id(prog_fd))
                return asprintf(why, "%s links program %u, not the one pinned as %s (%u)", name, li.prog_id,
                                prog_name, bpf_object_id(prog_fd)) < 0 ? -ENOMEM : 0;

        pi.nr_map_ids = ELEMENTSOF(map_ids);
        pi.map_ids = (uint64_t) (uintptr_t) map_ids;
        len = sizeof(pi);
        if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len) < 0 || pi.type != bpf_program__type(prog) ||
            strncmp(pi.name, bpf_program__name(prog), sizeof(pi.name) - 1) != 0 ||
            pi.nr_map_ids > ELEMENTSOF(map_ids))
                return asprintf(why, "%s links program \"%.*s\" of type %u, expected \"%s\" of type %u", name,
                                (int) sizeof(pi.name), pi.name, pi.type, bpf_program__name(prog),
                                (unsigned) bpf_program__type(prog)) < 0 ? -ENOMEM : 0;
        for (uint32_t i = 0; i < pi.nr_map_ids; i++)
                if (!map_id_is_ours(b, aux, map_ids[i], used))
                        return asprintf(why, "the program of %s uses map %u, which is not one of ours", name,
                                        map_ids[i]) < 0 ? -ENOMEM : 0;

        r = fl_bpf_add_aux(b, TAKE_FD(prog_fd), TAKE_PTR(prog_name));
        if (r < 0)
                return r;
        b->link_fds[b->n_links] = TAKE_FD(fd);
        b->link_names[b->n_links++] = TAKE_PTR(name);
        return 1;
}

/* The maps of O other than the daemon's own, each pinned under
 * aux_map_pin_name() with the right shape. */
static int aux_maps_check(FlBpf *b, const FlObjects *o, AuxMaps *aux, char **why) {
        struct bpf_map *m;
        int r;

        bpf_object__for_each_map(m, o->obj) {
                _cleanup_free_ char *name = NULL;
                _cleanup_close_ int fd = -1;

                if (fl_objects_own_map(o, m))
                        continue;
                if (aux_map_pin_name(m, &name) < 0)
                        return -ENOMEM;
                fd = pin_open(b->pin_path, name);
                if (fd < 0)
                        return asprintf(why, "%s: %s", name, strerror(-fd)) < 0 ? -ENOMEM : 0;
                if (!map_matches(fd, m, why))
                        return 0;
                if (aux->n >= ELEMENTSOF(aux->ids))
                        return -E2BIG;
                aux->ids[aux->n++] = bpf_object_id(fd);
                r = fl_bpf_add_aux(b, TAKE_FD(fd), TAKE_PTR(name));
                if (r < 0)
                        return r;
        }
        return 1;
}

/* Every map and every link of BACKEND, consistent with each other. Returns 1
 * with the fds in B, or 0 with *WHY set. */
static int pins_check(FlBpf *b, int backend, const FlOptions *opts, char **why) {
        _cleanup_(fl_objects_done) FlObjects o = {};
        bool used[_FL_MAP_MAX] = {};
        AuxMaps aux = {};
        int r;

        r = backend_info_get(backend)->open(&o);
        if (r < 0)
                return log_error_errno(r, "Failed to open the %s object: %m", backend_to_string(backend));

        for (size_t i = 0; i < _FL_MAP_MAX; i++) {
                b->map_fds[i] = pin_open(b->pin_path, map_pin_names[i]);
                if (b->map_fds[i] < 0)
                        return asprintf(why, "%s: %s", map_pin_names[i], strerror(-b->map_fds[i])) < 0 ? -ENOMEM : 0;
                if (!map_matches(b->map_fds[i], o.maps[i], why))
                        return 0;
        }
        r = aux_maps_check(b, &o, &aux, why);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < o.n_progs; i++) {
                if (!fl_program_wanted(&o.progs[i], opts))
                        continue;
                r = link_check(b, &aux, o.progs[i].prog, used, why);
                if (r <= 0)
                        return r;
        }
        for (size_t i = 0; i < _FL_MAP_MAX; i++)
                if (!used[i])
                        return asprintf(why, "no pinned program uses the pinned %s map", map_pin_names[i]) < 0
                                       ? -ENOMEM
                                       : 0;
        return 1;
}

/* What the pinned config says about the pins, read only once the map is
 * known to be the right shape: a pinned map with a value of another size
 * must not be read into our struct. Returns the backend, 0 for "replace", or
 * a negative errno. */
static int pinned_backend(FlBpf *b, char **why) {
        _cleanup_(fl_objects_done) FlObjects o = {};
        _cleanup_close_ int fd = -1;
        struct fl_config c;
        int r;

        fd = pin_open(b->pin_path, map_pin_names[FL_MAP_CONFIG]);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return log_error_errno(fd, "Failed to open pinned %s/%s: %m", b->pin_path,
                                       map_pin_names[FL_MAP_CONFIG]);
        /* Every backend has the same config map. */
        r = backend_info_get(FL_BACKEND_TRACEPOINT)->open(&o);
        if (r < 0)
                return r;
        if (!map_matches(fd, o.maps[FL_MAP_CONFIG], why))
                return 0;
        r = fl_config_read(fd, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to read the pinned configuration: %m");
        if (c.abi != FL_ABI_VERSION)
                return asprintf(why, "they have ABI version %u, this daemon %u", c.abi, FL_ABI_VERSION) < 0 ? -ENOMEM : 0;
        if (!backend_to_string((int) c.backend))
                return asprintf(why, "their configuration names backend %u, which does not exist", c.backend) < 0
                               ? -ENOMEM
                               : 0;
        return (int) c.backend;
}

int fl_bpf_try_takeover(FlBpf *b, int choice, int profile, const FlOptions *opts) {
        _cleanup_free_ char *why = NULL;
        struct fl_config c;
        int backend, r;

        backend = pinned_backend(b, &why);
        if (backend <= 0) {
                if (backend == 0 && why)
                        log_notice("Not taking over the pins in %s: %s. Replacing them.", b->pin_path, why);
                return backend;
        }
        if (choice != FL_BACKEND_CHOICE_AUTO && backend != choice) {
                log_notice("The pins in %s are of backend %s, %s was requested: attaching %s, then replacing "
                           "the pins, so that enforcement has no gap.",
                           b->pin_path, backend_to_string(backend), backend_to_string(choice),
                           backend_to_string(choice));
                return 0;
        }

        r = pins_check(b, backend, opts, &why);
        if (r <= 0) {
                fl_bpf_fds_close(b);
                if (r == 0)
                        log_notice("Not taking over the pins in %s: %s. Replacing them.", b->pin_path, why);
                return r;
        }

        c = fl_config_make(b, backend, profile);
        r = fl_config_write(b->map_fds[FL_MAP_CONFIG], &c);
        if (r >= 0)
                r = fl_bpf_sync_scopes(b, opts->scopes, opts->n_scopes);
        if (r < 0) {
                fl_bpf_fds_close(b);
                return log_error_errno(r, "Failed to apply the profile to the pinned programs: %m");
        }
        b->backend = backend;
        b->reused = true;
        return 1;
}
