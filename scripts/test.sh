#!/usr/bin/env bash
# Build tracemap and run its whole test suite (the README's test command).
#
#   bash scripts/test.sh [meson test arguments...]     e.g. --suite unit, -v
#
# On a fresh Debian 12 machine it first installs the missing Debian packages
# (as root, or with sudo) and the npm packages of the client tests (npm ci in
# tests/clients when node_modules is missing).  TRACEMAP_NO_INSTALL=1 skips
# both.  BUILD_DIR (default build) and MESON_SETUP_ARGS (e.g.
# -Dsanitize=true) choose the build.  Exits non-zero when the build or a
# test fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
# shellcheck source=scripts/packages.sh
. scripts/packages.sh

if [ "${TRACEMAP_NO_INSTALL:-0}" != 1 ]; then
  install_missing_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  if [ ! -d tests/clients/node_modules ] && command -v npm >/dev/null 2>&1; then
    (cd tests/clients && npm ci --no-audit --no-fund)
  fi
fi

# shellcheck disable=SC2086 # MESON_SETUP_ARGS is a list of arguments
if [ -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD_DIR" ${MESON_SETUP_ARGS:-}
else
  meson setup "$BUILD_DIR" ${MESON_SETUP_ARGS:-}
fi
meson compile -C "$BUILD_DIR"
meson test -C "$BUILD_DIR" --print-errorlogs "$@"
