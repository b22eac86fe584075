#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by "meson install": rebuilds the journal's catalog index so that
# "journalctl -x" knows our messages. Skipped for staged (DESTDIR) installs,
# where the package's own scripts do it on the target.
set -eu
[ -n "${DESTDIR:-}" ] && exit 0
command -v journalctl >/dev/null || exit 0
journalctl --update-catalog || echo "Warning: journalctl --update-catalog failed; run it by hand." >&2
