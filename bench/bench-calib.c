/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-calib OBJECT PROGRAM: loads and attaches one program of OBJECT (see
 * bench-calib.bpf.c), prints "prog_id=N" on stdout, and keeps it attached
 * until stdin reaches EOF; the link goes with the process, nothing is pinned.
 *
 * Build: cc -O2 -Wall -o bench-calib bench-calib.c -lbpf
 */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap) {
        return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char *argv[]) {
        struct bpf_program *prog, *p;
        struct bpf_object *obj;
        struct bpf_link *link;
        struct bpf_prog_info info = {};
        __u32 len = sizeof(info);
        char buf[64];

        if (argc != 3) {
                fprintf(stderr, "usage: bench-calib OBJECT PROGRAM\n");
                return 2;
        }
        libbpf_set_print(quiet);
        obj = bpf_object__open_file(argv[1], NULL);
        if (!obj) {
                fprintf(stderr, "bench-calib: open %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        prog = bpf_object__find_program_by_name(obj, argv[2]);
        if (!prog) {
                fprintf(stderr, "bench-calib: no program %s\n", argv[2]);
                return 1;
        }
        bpf_object__for_each_program(p, obj)
                bpf_program__set_autoload(p, p == prog);
        if (bpf_object__load(obj) < 0) {
                fprintf(stderr, "bench-calib: load: %s\n", strerror(errno));
                return 1;
        }
        link = bpf_program__attach(prog);
        if (!link) {
                fprintf(stderr, "bench-calib: attach: %s\n", strerror(errno));
                return 1;
        }
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) < 0) {
                fprintf(stderr, "bench-calib: prog info: %s\n", strerror(errno));
                return 1;
        }
        printf("prog_id=%u\n", info.id);
        fflush(stdout);
        while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
                ;
        bpf_link__destroy(link);
        bpf_object__close(obj);
        return 0;
}
