#!/usr/bin/env bash
# run.sh - end-to-end ingest benchmark of tracemap, then the stage ceilings.
#
# usage: bench/run.sh [BUILD_DIR] [DURATION_S]      (defaults: build 60)
#
# For each sync mode (full, none): start a fresh server on a free port, load
# it with bench/loadgen for DURATION_S seconds, stop it with SIGTERM, and
# check with `tracemap check` that the store holds every acknowledged span.
# Then measure the decode and store ceilings with bench/stages on the very
# request bodies loadgen sent first (same seed), and print one table.
#
# Environment: CONNECTIONS (8), SPANS_PER_BATCH (512), SEED (from the clock),
# STAGE_SECONDS (5), BATCHES (64 bodies for stages), BENCH_TMPDIR (where
# stores go; default $TMPDIR or /var/tmp: put it on the disk you measure),
# KEEP=1 keeps the work directory with every log.
set -u

BUILD_DIR=${1:-build}
DURATION=${2:-60}
CONNECTIONS=${CONNECTIONS:-8}
SPANS_PER_BATCH=${SPANS_PER_BATCH:-512}
SEED=${SEED:-$(date +%s)}
STAGE_SECONDS=${STAGE_SECONDS:-5}
BATCHES=${BATCHES:-64}
BASE_TMP=${BENCH_TMPDIR:-${TMPDIR:-/var/tmp}}
MODES="full none"

TRACEMAP=$BUILD_DIR/tracemap
[ -x "$TRACEMAP" ] || TRACEMAP=$BUILD_DIR/server/tracemap
LOADGEN=$BUILD_DIR/bench/loadgen
STAGES=$BUILD_DIR/bench/stages
for exe in "$TRACEMAP" "$LOADGEN" "$STAGES"; do
	if [ ! -x "$exe" ]; then
		echo "run.sh: $exe not found; build first (meson compile -C $BUILD_DIR)" >&2
		exit 2
	fi
done

WORK=$(mktemp -d "$BASE_TMP/tracemap-bench.XXXXXX") || exit 2
SERVER_PID=
CHILD_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [ -n "$CHILD_PID" ] && kill -0 "$CHILD_PID" 2>/dev/null; then
		kill -TERM "$CHILD_PID" 2>/dev/null   # loadgen and stages stop cleanly
		wait "$CHILD_PID" 2>/dev/null
	fi
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "run.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# value of a "name value" line in a file
val() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

log() { echo "run.sh: $*" >&2; }

# runs a command in the background and waits for it, so that SIGINT/SIGTERM
# reach the trap at once instead of after the command (bash defers traps
# while a foreground child runs)
run_child() {
	local rc
	"$@" &
	CHILD_PID=$!
	wait "$CHILD_PID"
	rc=$?
	CHILD_PID=
	return $rc
}

FAILED=0
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.5) }'; then
	log "warning: load average is $LOAD_BEFORE before starting; other processes" \
		"will share the CPUs and lower every number"
fi

# starts the server on a free port; sets SERVER_PID and PORT
start_server() {
	local mode=$1 data=$2 logf=$3
	: >"$logf"
	"$TRACEMAP" --listen 127.0.0.1:0 --data "$data" --sync "$mode" 2>"$logf" &
	SERVER_PID=$!
	PORT=
	for _ in $(seq 100); do
		PORT=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$logf" | head -1 | sed 's/.*://')
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "server did not start ($mode):"
	cat "$logf" >&2
	return 1
}

stop_server() {
	local rc
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"   # the server drains its queue, then exits 0
	rc=$?
	SERVER_PID=
	return $rc
}

# one end-to-end run; leaves loadgen-$mode.txt, check-$mode.txt, verified-$mode
run_mode() {
	local mode=$1 rc acked stored
	local data=$WORK/data-$mode
	log "sync $mode: ${DURATION}s of load over $CONNECTIONS connections"
	start_server "$mode" "$data" "$WORK/server-$mode.log" || return 1
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --duration "$DURATION" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
		--seed "$SEED" --server-pid "$SERVER_PID" --quiet >"$WORK/loadgen-$mode.txt"
	rc=$?
	[ $rc -eq 0 ] || { log "loadgen reported failed requests ($mode)"; FAILED=1; }
	stop_server || { log "server exited with status $? ($mode)"; FAILED=1; }
	"$TRACEMAP" check --data "$data" >"$WORK/check-$mode.txt" 2>&1 ||
		{ log "tracemap check found problems ($mode):"; cat "$WORK/check-$mode.txt" >&2; FAILED=1; }
	acked=$(val spans_acked "$WORK/loadgen-$mode.txt")
	stored=$(val spans "$WORK/check-$mode.txt")
	if [ -z "$acked" ] || [ -z "$stored" ]; then
		echo "ERROR" >"$WORK/verified-$mode"
		FAILED=1
	elif [ "$stored" -lt "$acked" ]; then
		echo "LOST:$((acked - stored))" >"$WORK/verified-$mode"
		log "LOST $((acked - stored)) acknowledged spans ($mode)"
		FAILED=1
	elif [ "$stored" -gt "$acked" ]; then
		# spans of requests the server stored but whose answer never came
		echo "EXTRA:$((stored - acked))" >"$WORK/verified-$mode"
	else
		echo "$stored" >"$WORK/verified-$mode"
	fi
	rm -rf "$data"
}

for mode in $MODES; do
	run_mode "$mode" || FAILED=1
done

log "stage ceilings on $BATCHES bodies (${STAGE_SECONDS}s per stage)"
"$LOADGEN" --dump-batches "$WORK/batches" "$BATCHES" --seed "$SEED" \
	--spans-per-batch "$SPANS_PER_BATCH" --quiet || exit 1
run_child "$STAGES" --batches "$WORK/batches" --only decode --seconds "$STAGE_SECONDS" \
	>"$WORK/stages-decode.txt" || FAILED=1
for mode in $MODES; do
	run_child "$STAGES" --batches "$WORK/batches" --only store --sync "$mode" \
		--seconds "$STAGE_SECONDS" --tmpdir "$WORK" >"$WORK/stages-$mode.txt" || FAILED=1
done

CPUS=$(nproc)
DECODE=$(val decode_spans_per_s "$WORK/stages-decode.txt")
echo
echo "tracemap ingest benchmark: ${DURATION}s per mode, $CONNECTIONS connections," \
	"$SPANS_PER_BATCH spans/request, seed $SEED, $CPUS CPUs," \
	"load average $LOAD_BEFORE before / $(cut -d' ' -f1 /proc/loadavg) after"
printf '%-5s %10s %8s %8s %9s %12s %12s %11s %s\n' mode spans/s p50_ms p99_ms \
	rss_anon_mb decode/core store of_ceiling verified
for mode in $MODES; do
	lg=$WORK/loadgen-$mode.txt
	store=$(val store_spans_per_s "$WORK/stages-$mode.txt")
	rate=$(val spans_per_s "$lg")
	# the server decodes on every CPU, writes on one thread: its ceiling is
	# the lower of (decode per core x CPUs) and the store alone
	frac=$(awk -v r="${rate:-0}" -v d="${DECODE:-0}" -v c="$CPUS" -v s="${store:-0}" \
		'BEGIN { m = d * c; if (s < m) m = s; printf "%.2f", (m > 0 ? r / m : 0) }')
	printf '%-5s %10s %8s %8s %9s %12s %12s %11s %s\n' "$mode" "${rate:-?}" \
		"$(val latency_p50_ms "$lg")" "$(val latency_p99_ms "$lg")" \
		"$(val server_peak_rss_anon_mb "$lg")" "${DECODE:-?}" "${store:-?}" "$frac" \
		"$(cat "$WORK/verified-$mode" 2>/dev/null || echo '?')"
done
exit $FAILED
