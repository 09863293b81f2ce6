# packages.sh - the Debian packages tracemap needs, and how to install the
# missing ones.  Sourced by scripts/start.sh, scripts/test.sh and .ci/run so
# that the list lives in one place.

# to build and run the server (libgraphviz-dev brings libgvc6, which holds
# the dot and neato/sfdp layout plugins and the SVG renderer, and registers
# them in its postinst: nothing else of Graphviz is needed)
BUILD_PACKAGES=(meson ninja-build pkg-config gcc libmicrohttpd-dev libprotobuf-c-dev
                protobuf-c-compiler liblmdb-dev lmdb-utils zlib1g-dev liblz4-dev libjansson-dev
                libgraphviz-dev)
# additionally, to run the tests (clang and its libFuzzer runtime build the
# fuzz targets; node and npm run the real-client tests; chromium is the
# browser that playwright-core drives in tests/clients/browser.test.mjs;
# openssl makes the test certificate of tests/clients/access.test.mjs,
# prometheus brings promtool, which checks GET /metrics in metrics.test.mjs;
# valgrind runs the integration tests once more in tests/valgrind.sh)
TEST_PACKAGES=(clang libclang-rt-14-dev nodejs npm chromium openssl prometheus valgrind)

# prints the packages of "$@" that are not installed; node and npm from
# elsewhere (e.g. nodesource, which bundles npm) count as installed
missing_packages() {
  local p
  for p in "$@"; do
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
      echo "$p"
  done
}

# installs what is missing of "$@" with apt-get, as root or through sudo
install_missing_packages() {
  local -a missing sudo=()
  command -v dpkg-query >/dev/null 2>&1 || return 0
  mapfile -t missing < <(missing_packages "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}
