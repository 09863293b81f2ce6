#!/usr/bin/env bash
# Runs the integration tests (meson suite "clients") with every server they
# start under valgrind's memcheck, then reads valgrind's logs: exits non-zero
# when a test failed, or any server process had a memory error or leaked
# ("definitely" or "indirectly lost"; what is still reachable at exit, such
# as Graphviz's plugin tables, is not a leak).  Prints one summary line.
#
#   bash tests/valgrind.sh [meson test arguments]     e.g. clients/servicemap
#
# A server that exits 99 (valgrind's verdict) fails its test (lib/server.mjs).
# BUILD_DIR (default build) is the build to use; VALGRIND_LOGS keeps the
# logs (default: a fresh directory in /tmp).  Servers killed with SIGKILL on
# purpose (durability, crash tests) leave logs without a leak summary: those
# are counted, not judged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
LOGS="${VALGRIND_LOGS:-$(mktemp -d /tmp/tracemap-valgrind.XXXXXX)}"
mkdir -p "$LOGS"
rm -f "$LOGS"/vg.*.log

export TRACEMAP_WRAPPER="valgrind --tool=memcheck --log-file=$LOGS/vg.%p.log --leak-check=full \
--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
--suppressions=$ROOT/tests/valgrind.supp --num-callers=30 --error-exitcode=99"
export TRACEMAP_TIMEOUT_SCALE="${TRACEMAP_TIMEOUT_SCALE:-10}"
# valgrind cannot map LMDB's default 1 TiB of address space
export TRACEMAP_MAX_SIZE="${TRACEMAP_MAX_SIZE:-4G}"

status=0
if [ $# -eq 0 ]; then set -- --suite clients; fi
# its own log (meson-logs/testlog-valgrind.json), beside the normal run's
meson test -C "$BUILD_DIR" --logbase testlog-valgrind --timeout-multiplier 10 \
  --num-processes 1 --print-errorlogs "$@" || status=1

processes=0 summarized=0 errors=0 leaked=0
for f in "$LOGS"/vg.*.log; do
  [ -e "$f" ] || continue
  processes=$((processes + 1))
  grep -q "ERROR SUMMARY" "$f" || continue   # killed on purpose
  summarized=$((summarized + 1))
  e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$f" | tr -d , | tail -n 1)
  d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tr -d , | tail -n 1)
  i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tr -d , | tail -n 1)
  if [ "${e:-0}" != 0 ] || [ "${d:-0}" != 0 ] || [ "${i:-0}" != 0 ]; then
    echo "valgrind: $f: ${e:-0} errors, ${d:-0} bytes definitely and ${i:-0} indirectly lost" >&2
    errors=$((errors + ${e:-0}))
    leaked=$((leaked + ${d:-0} + ${i:-0}))
    status=1
  fi
done
echo "valgrind: $processes server processes, $summarized exited and were checked: $errors errors, $leaked bytes leaked (logs: $LOGS)"
[ "$processes" -gt 0 ] || { echo "valgrind: no server ran under valgrind" >&2; status=1; }
exit $status
