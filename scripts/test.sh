#!/usr/bin/env bash
# Build tracemap and run its whole test suite (the README's test command).
#
#   bash scripts/test.sh            # from anywhere
#
# On a fresh Debian 12 machine it first installs the missing Debian packages
# (as root, or with sudo when available) and the npm packages of the client
# tests (npm ci in tests/clients when node_modules is missing). Set
# TRACEMAP_NO_INSTALL=1 to skip both. Extra arguments go to `meson test`
# (e.g. --suite clients, -v). Exits non-zero when the build or a test fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"

# Debian packages needed to build and test (commands stand in for nodejs/npm,
# which may come from another source, e.g. a nodesource nodejs that bundles npm).
DEB_PKGS=(meson ninja-build pkg-config gcc libmicrohttpd-dev libprotobuf-c-dev
          protobuf-c-compiler liblmdb-dev lmdb-utils zlib1g-dev libjansson-dev)

missing_packages() {
  local p
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${DEB_PKGS[@]}"; do
      dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
  fi
  command -v node >/dev/null 2>&1 || echo nodejs
  command -v npm >/dev/null 2>&1 || echo npm
}

install_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] && return 0
  local -a SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
      SUDO=(sudo)
    else
      echo "scripts/test.sh: missing packages (${missing[*]}) and no root/sudo; continuing without them" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: missing packages (${missing[*]}) and no apt-get; continuing without them" >&2
    return 0
  fi
  echo "scripts/test.sh: installing ${missing[*]}" >&2
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_node_modules() {
  [ -d tests/clients/node_modules ] && return 0
  [ -f tests/clients/package-lock.json ] || return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "scripts/test.sh: npm not found; the client tests will be skipped" >&2
    return 0
  fi
  (cd tests/clients && npm ci --no-audit --no-fund)
}

if [ "${TRACEMAP_NO_INSTALL:-0}" != 1 ]; then
  install_packages
  install_node_modules
fi

if [ -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD_DIR"
else
  meson setup "$BUILD_DIR"
fi
meson compile -C "$BUILD_DIR"
meson test -C "$BUILD_DIR" --print-errorlogs "$@"
