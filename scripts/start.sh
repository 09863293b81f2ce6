#!/usr/bin/env bash
# Build tracemap and start it (the README's first command).
#
#   bash scripts/start.sh [tracemap options...]
#
# On a fresh Debian 12 machine it first installs the Debian packages that the
# build needs (as root, or with sudo), then builds with meson into ./build and
# runs ./build/tracemap in the foreground on 127.0.0.1:4318 with its store in
# ./tracemap-data.  Options given here are passed on (see --help); Ctrl-C
# stops it cleanly after the queued writes are done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
# shellcheck source=scripts/packages.sh
. scripts/packages.sh

install_missing_packages "${BUILD_PACKAGES[@]}"
if [ ! -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
  meson setup "$BUILD_DIR" --buildtype=release
fi
meson compile -C "$BUILD_DIR" tracemap
exec "$BUILD_DIR/tracemap" --listen 127.0.0.1:4318 --data ./tracemap-data "$@"
