#!/usr/bin/env bash
# run.sh - end-to-end ingest benchmark of tracemap, then the stage ceilings,
# then the ingest formats compared, then the query benchmark.
#
# usage: bench/run.sh [BUILD_DIR] [DURATION_S]      (defaults: build 60)
#        bench/run.sh --query-only [BUILD_DIR]      (the query benchmark alone)
#        bench/run.sh --formats-only [BUILD_DIR]    (the format comparison alone)
#        bench/run.sh --search-only [BUILD_DIR]     (the search benchmark alone)
#        bench/run.sh --ingest-ab OLD_BIN NEW_BIN [BUILD_DIR] [DURATION_S]
#                                                   (two servers' ingest, alternately)
#        bench/run.sh --servicemap-only [BUILD_DIR] [DURATION_S]
#                                                   (the service map's costs and queries)
#
# For each sync mode (full, none): start a fresh server on a free port, load
# it with bench/loadgen for DURATION_S seconds, stop it with SIGTERM, and
# check with `tracemap check` that the store holds every acknowledged span.
# Then measure the decode and store ceilings with bench/stages on the very
# request bodies loadgen sent first (same seed), and print one table.
#
# Search benchmark (--search-only): fill a fresh server (--sync none) with
# SEARCH_SPANS spans in traces of SEARCH_TRACE_SPANS spans whose starts
# spread over the last SEARCH_SPREAD seconds, restart it on that store, and
# time the search endpoints (search by service over 1 h, slow traces over
# 1 h and 24 h, the service list) with bench/querybench, against
# GET /api/v2/autocompleteKeys (the HTTP floor) in the same run.
#
# Ingest A/B (--ingest-ab): the same loadgen workload (CONNECTIONS, --sync
# full, DURATION_S each) against OLD_BIN and NEW_BIN alternately, old, new,
# old, new (AB_ROUNDS pairs), each on a fresh store, so that a drift of the
# machine hits both; prints spans/s, latency and RSS of each run and the
# ratio new / old.
#
# Service map (--servicemap-only): the same binary's ingest with and
# without --no-service-map (the A/B above, DURATION_S per run); the
# critical path of a CP_SPANS-span trace over HTTP and in-process (read and
# analysis apart); /api/bottlenecks over one hour holding BN_TRACES traces
# of one entry service; /api/servicemap over 1 h and 24 h of a
# SMAP_SERVICES-service system, timed while loadgen ingests at full rate
# into the same server.  One table with the targets.
#
# Format comparison: for each of FORMATS, a fresh server with --sync full
# and FORMAT_SECONDS of loadgen --format on the same spans (same seed); one
# table of spans/s, latency and bytes per span, with spans/s as a fraction
# of otlp-proto's.  A format the server refuses (say 400 "not implemented
# yet") shows as n/a with the server's message; the other formats still run.
#
# Query benchmark: fill a fresh store with QUERY_SPANS spans, pick the traces
# of TRACE_SPANS spans from what loadgen wrote with --ids-out, and time
# GET /api/traces/{id} on the idle server with bench/querybench, then the
# store lookup alone in-process (querybench --direct, beside the server) as
# the baseline; print a second table.
#
# Environment: CONNECTIONS (8), SPANS_PER_BATCH (512), SEED (from the clock),
# STAGE_SECONDS (5), BATCHES (64 bodies for stages), BENCH_TMPDIR (where
# stores go; default $TMPDIR or /var/tmp: put it on the disk you measure),
# KEEP=1 keeps the work directory with every log.  Query benchmark:
# QUERY_SPANS (5000000; 0 skips it), TRACE_SPANS (50), QUERY_SECONDS (20 per
# run), QUERY_CONNECTIONS ("1 4": one HTTP and one direct run for each).
# Format comparison: FORMATS ("otlp-proto otlp-json zipkin-json"; empty
# skips it), FORMAT_SECONDS (20 per format).  Search benchmark: SEARCH_SPANS
# (5000000), SEARCH_TRACE_SPANS (5-35: 20 on average), SEARCH_SPREAD (86400
# s), SEARCH_SECONDS (10 per endpoint and connection count),
# SEARCH_CONNECTIONS ("1 4"), SEARCH_LIMIT (20), SEARCH_CACHE (warm: the
# store stays in the page cache from the fill; cold: its pages are dropped
# before the restart).  Ingest A/B: AB_ROUNDS (2), AB_LOADGEN_ARGS (more
# loadgen options, e.g. "--trace-spans 5-35"), AB_OLD_ARGS and AB_NEW_ARGS
# (more server options for one binary, e.g. "--no-service-map").  Service
# map: AB_ROUNDS and AB_LOADGEN_ARGS as above; SMAP_SERVICES (50),
# SMAP_SPANS (5000000 spans in the 24 h store), SMAP_TRACE_SPANS (5-35),
# SMAP_SPREAD (86400 s), SMAP_SECONDS (10 per query phase), SMAP_LIVE_SYNC
# (full: the sync mode of the server the map is queried on), BN_TRACES
# (100000), BN_ENTRY (frontend), BN_TRACE_SPANS (5-35), BN_SECONDS (20),
# CP_SPANS (10000), CP_SECONDS (10), PAIR_WAIT (1s: the --pair-wait of the
# servers that are filled, so their pairing catches up soon), CATCHUP_S
# (900: how long to wait for it at most).  PERF=1 (A/B and service map):
# `perf record` of the server during each timed run, reports in the kept
# work directory (perf-NAME.txt); PERF_FREQ (199 Hz), PERF_CALLGRAPH
# (dwarf,8192: the build omits frame pointers, so "fp" chains are
# garbage; dwarf keeps 8 KB per sample, about 200 MB per busy minute).
# Profiled numbers are not clean numbers: run once without PERF for the
# table.
set -u

QUERY_ONLY=0
FORMATS_ONLY=0
SEARCH_ONLY=0
SMAP_ONLY=0
AB_OLD=
AB_NEW=
case "${1:-}" in
--query-only) QUERY_ONLY=1; shift ;;
--formats-only) FORMATS_ONLY=1; shift ;;
--search-only) SEARCH_ONLY=1; shift ;;
--servicemap-only) SMAP_ONLY=1; shift ;;
--ingest-ab)
	if [ $# -lt 3 ]; then
		echo "usage: bench/run.sh --ingest-ab OLD_BIN NEW_BIN [BUILD_DIR] [DURATION_S]" >&2
		exit 2
	fi
	AB_OLD=$2; AB_NEW=$3; shift 3 ;;
esac
BUILD_DIR=${1:-build}
DURATION=${2:-60}
CONNECTIONS=${CONNECTIONS:-8}
SPANS_PER_BATCH=${SPANS_PER_BATCH:-512}
SEED=${SEED:-$(date +%s)}
STAGE_SECONDS=${STAGE_SECONDS:-5}
BATCHES=${BATCHES:-64}
BASE_TMP=${BENCH_TMPDIR:-${TMPDIR:-/var/tmp}}
MODES="full none"
QUERY_SPANS=${QUERY_SPANS:-5000000}
TRACE_SPANS=${TRACE_SPANS:-50}
QUERY_SECONDS=${QUERY_SECONDS:-20}
QUERY_CONNECTIONS=${QUERY_CONNECTIONS:-1 4}
FORMATS=${FORMATS-otlp-proto otlp-json zipkin-json}
FORMAT_SECONDS=${FORMAT_SECONDS:-20}
SEARCH_SPANS=${SEARCH_SPANS:-5000000}
SEARCH_TRACE_SPANS=${SEARCH_TRACE_SPANS:-5-35}
SEARCH_SPREAD=${SEARCH_SPREAD:-86400}
SEARCH_SECONDS=${SEARCH_SECONDS:-10}
SEARCH_CONNECTIONS=${SEARCH_CONNECTIONS:-1 4}
SEARCH_LIMIT=${SEARCH_LIMIT:-20}
SEARCH_CACHE=${SEARCH_CACHE:-warm}
AB_ROUNDS=${AB_ROUNDS:-2}
AB_LOADGEN_ARGS=${AB_LOADGEN_ARGS:-}
AB_OLD_ARGS=${AB_OLD_ARGS:-}
AB_NEW_ARGS=${AB_NEW_ARGS:-}
SMAP_SERVICES=${SMAP_SERVICES:-50}
SMAP_SPANS=${SMAP_SPANS:-5000000}
SMAP_TRACE_SPANS=${SMAP_TRACE_SPANS:-5-35}
SMAP_SPREAD=${SMAP_SPREAD:-86400}
SMAP_SECONDS=${SMAP_SECONDS:-10}
SMAP_LIVE_SYNC=${SMAP_LIVE_SYNC:-full}
BN_TRACES=${BN_TRACES:-100000}
BN_ENTRY=${BN_ENTRY:-frontend}
BN_TRACE_SPANS=${BN_TRACE_SPANS:-5-35}
BN_SECONDS=${BN_SECONDS:-20}
CP_SPANS=${CP_SPANS:-10000}
CP_SECONDS=${CP_SECONDS:-10}
PAIR_WAIT=${PAIR_WAIT:-1s}
CATCHUP_S=${CATCHUP_S:-900}
case $SEARCH_CACHE in
warm | cold) ;;
*) echo "run.sh: SEARCH_CACHE must be warm or cold" >&2; exit 2 ;;
esac
if [ "$QUERY_ONLY" = 1 ] && [ "$QUERY_SPANS" -le 0 ]; then
	echo "run.sh: --query-only needs QUERY_SPANS > 0" >&2
	exit 2
fi
if [ "$FORMATS_ONLY" = 1 ] && [ -z "$FORMATS" ]; then
	echo "run.sh: --formats-only needs FORMATS" >&2
	exit 2
fi
for f in $FORMATS; do
	case $f in
	otlp-proto | otlp-json | zipkin-json) ;;
	*) echo "run.sh: unknown format '$f' in FORMATS" >&2; exit 2 ;;
	esac
done
# what runs: the ingest runs with the stages, the formats, the queries;
# or the search benchmark alone, or the A/B ingest comparison alone
DO_INGEST=1
DO_FORMATS=1
DO_QUERY=1
DO_SEARCH=$SEARCH_ONLY
DO_SMAP=$SMAP_ONLY
DO_AB=0
[ -z "$AB_OLD" ] || DO_AB=1
[ "$QUERY_ONLY" = 0 ] && [ "$FORMATS_ONLY" = 0 ] || DO_INGEST=0
[ "$QUERY_ONLY" = 0 ] && [ -n "$FORMATS" ] || DO_FORMATS=0
[ "$FORMATS_ONLY" = 0 ] && [ "$QUERY_SPANS" -gt 0 ] || DO_QUERY=0
if [ "$DO_SEARCH" = 1 ] || [ "$DO_AB" = 1 ] || [ "$DO_SMAP" = 1 ]; then
	DO_INGEST=0
	DO_FORMATS=0
	DO_QUERY=0
fi

TRACEMAP=$BUILD_DIR/tracemap
[ -x "$TRACEMAP" ] || TRACEMAP=$BUILD_DIR/server/tracemap
LOADGEN=$BUILD_DIR/bench/loadgen
STAGES=$BUILD_DIR/bench/stages
QUERYBENCH=$BUILD_DIR/bench/querybench
NEEDED="$TRACEMAP $LOADGEN"
[ "$DO_INGEST" = 0 ] || NEEDED="$NEEDED $STAGES"
[ "$DO_QUERY" = 0 ] && [ "$DO_SEARCH" = 0 ] && [ "$DO_SMAP" = 0 ] ||
	NEEDED="$NEEDED $QUERYBENCH"
[ "$DO_AB" = 0 ] || NEEDED="$AB_OLD $AB_NEW $LOADGEN"
if [ "$DO_SMAP" = 1 ]; then
	# the A/B compares the binary with itself, without the service map
	AB_OLD=$TRACEMAP
	AB_NEW=$TRACEMAP
	AB_OLD_ARGS=--no-service-map
	AB_NEW_ARGS=
	if ! command -v curl >/dev/null; then
		echo "run.sh: --servicemap-only needs curl (to see the pairing catch up)" >&2
		exit 2
	fi
fi
for exe in $NEEDED; do
	if [ ! -x "$exe" ]; then
		echo "run.sh: $exe not found; build first (meson compile -C $BUILD_DIR)" >&2
		exit 2
	fi
done

WORK=$(mktemp -d "$BASE_TMP/tracemap-bench.XXXXXX") || exit 2
SERVER_PID=
CHILD_PID=
LIVE_PID=     # a loadgen in the background while querybench runs
PERF_PID=
[ "${PERF:-0}" = 0 ] || KEEP=1
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local pid
	[ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null
	for pid in "$CHILD_PID" "$LIVE_PID"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null   # loadgen and stages stop cleanly
			wait "$pid" 2>/dev/null
		fi
	done
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

# starts the server (the binary BIN, default $TRACEMAP, with the options
# after it) on a free port; sets SERVER_PID and PORT
start_server() {
	local mode=$1 data=$2 logf=$3 bin=${4:-$TRACEMAP}
	shift $(($# < 4 ? $# : 4))
	: >"$logf"
	"$bin" --listen 127.0.0.1:0 --data "$data" --sync "$mode" "$@" 2>"$logf" &
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

# PERF=1: starts `perf record` of the running server into perf-NAME.data
perf_start() {
	[ "${PERF:-0}" = 1 ] || return 0
	perf record -F "${PERF_FREQ:-199}" --call-graph "${PERF_CALLGRAPH:-dwarf,8192}" \
		-p "$SERVER_PID" -o "$WORK/perf-$1.data" >"$WORK/perf-$1.log" 2>&1 &
	PERF_PID=$!
	sleep 0.5   # perf attaches
}

# stops the recording perf_start NAME began and writes perf-NAME.txt: the
# symbols by their own time, then by the time spent in them and below
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID"
	wait "$PERF_PID"
	PERF_PID=
	{
		echo "# self time"
		perf report -i "$WORK/perf-$1.data" --stdio --no-children --sort dso,symbol \
			-g none --percent-limit 1
		echo "# with callees"
		perf report -i "$WORK/perf-$1.data" --stdio --children --sort symbol \
			-g none --percent-limit 2
	} >"$WORK/perf-$1.txt" 2>/dev/null
	log "perf: $WORK/perf-$1.txt"
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
	local mode=$1 rc
	local data=$WORK/data-$mode
	log "sync $mode: ${DURATION}s of load over $CONNECTIONS connections"
	start_server "$mode" "$data" "$WORK/server-$mode.log" || return 1
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --duration "$DURATION" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
		--seed "$SEED" --server-pid "$SERVER_PID" --quiet >"$WORK/loadgen-$mode.txt"
	rc=$?
	[ $rc -eq 0 ] || { log "loadgen reported failed requests ($mode)"; FAILED=1; }
	stop_server || { log "server exited with status $? ($mode)"; FAILED=1; }
	verify_store "$data" "$(val spans_acked "$WORK/loadgen-$mode.txt")" "$mode"
	rm -rf "$data"
}

# checks the stopped server's store with `tracemap check` (of the binary
# BIN, default $TRACEMAP) against the number of acknowledged spans; leaves
# check-$name.txt and verified-$name
verify_store() {
	local data=$1 acked=$2 name=$3 bin=${4:-$TRACEMAP} stored
	"$bin" check --data "$data" >"$WORK/check-$name.txt" 2>&1 ||
		{ log "tracemap check found problems ($name):"; cat "$WORK/check-$name.txt" >&2; FAILED=1; }
	stored=$(val spans "$WORK/check-$name.txt")
	if [ -z "$acked" ] || [ -z "$stored" ]; then
		echo "ERROR" >"$WORK/verified-$name"
		FAILED=1
	elif [ "$stored" -lt "$acked" ]; then
		echo "LOST:$((acked - stored))" >"$WORK/verified-$name"
		log "LOST $((acked - stored)) acknowledged spans ($name)"
		FAILED=1
	elif [ "$stored" -gt "$acked" ]; then
		# spans of requests the server stored but whose answer never came
		echo "EXTRA:$((stored - acked))" >"$WORK/verified-$name"
	else
		echo "$stored" >"$WORK/verified-$name"
	fi
}

# the ingest runs and the stage ceilings
run_ingest() {
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
	LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

print_ingest_table() {
	local mode lg store rate frac
	local CPUS DECODE
	CPUS=$(nproc)
	DECODE=$(val decode_spans_per_s "$WORK/stages-decode.txt")
	echo
	echo "tracemap ingest benchmark: ${DURATION}s per mode, $CONNECTIONS connections," \
		"$SPANS_PER_BATCH spans/request, seed $SEED, $CPUS CPUs," \
		"load average $LOAD_BEFORE before / $LOAD_AFTER after"
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
}

#---- format comparison ----

# the first failure loadgen printed: "HTTP 400: not implemented yet"
first_failure() {
	sed -n 's/^loadgen: request failed: \(.*\) (further failures.*/\1/p' "$1" | head -1
}

# one format on a fresh server with --sync full.  One request first (other
# traces: SEED+1000) tells whether the server takes the format at all; if
# not, the format is n/a and its timed run is skipped.  Leaves
# loadgen-fmt-$f.txt (or na-$f with the reason) and verified-fmt-$f.
run_format() {
	local f=$1 rc probe_acked run_acked
	local data=$WORK/data-fmt-$f
	log "format $f: ${FORMAT_SECONDS}s of load over $CONNECTIONS connections, sync full"
	start_server full "$data" "$WORK/server-fmt-$f.log" || return 1
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --format "$f" --requests 1 \
		--connections 1 --spans-per-batch "$SPANS_PER_BATCH" --seed "$((SEED + 1000))" \
		--quiet >"$WORK/probe-fmt-$f.txt" 2>"$WORK/probe-fmt-$f.err"
	probe_acked=$(val spans_acked "$WORK/probe-fmt-$f.txt")
	if [ "${probe_acked:-0}" -eq 0 ]; then
		first_failure "$WORK/probe-fmt-$f.err" >"$WORK/na-$f"
		[ -s "$WORK/na-$f" ] ||
			sed -n 's/^loadgen: //p' "$WORK/probe-fmt-$f.err" | head -1 >"$WORK/na-$f"
		log "format $f: n/a: $(cat "$WORK/na-$f")"
		stop_server || { log "server exited with status $? (format $f)"; FAILED=1; }
		rm -rf "$data"
		return 0
	fi
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --format "$f" \
		--duration "$FORMAT_SECONDS" --connections "$CONNECTIONS" \
		--spans-per-batch "$SPANS_PER_BATCH" --seed "$SEED" --server-pid "$SERVER_PID" \
		--quiet >"$WORK/loadgen-fmt-$f.txt" 2>"$WORK/loadgen-fmt-$f.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		log "loadgen reported failed requests (format $f): $(first_failure "$WORK/loadgen-fmt-$f.err")"
		FAILED=1
	fi
	stop_server || { log "server exited with status $? (format $f)"; FAILED=1; }
	run_acked=$(val spans_acked "$WORK/loadgen-fmt-$f.txt")
	verify_store "$data" "$(( probe_acked + ${run_acked:-0} ))" "fmt-$f"
	rm -rf "$data"
}

run_formats() {
	local f
	FORMAT_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	for f in $FORMATS; do
		run_format "$f" || FAILED=1
	done
	FORMAT_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

print_format_table() {
	local f lg proto rate frac bps
	proto=$(val spans_per_s "$WORK/loadgen-fmt-otlp-proto.txt" 2>/dev/null)
	echo
	echo "tracemap ingest formats: ${FORMAT_SECONDS}s per format, sync full," \
		"$CONNECTIONS connections, $SPANS_PER_BATCH spans/request, seed $SEED," \
		"$(nproc) CPUs, load average ${FORMAT_LOAD_BEFORE:-?} before /" \
		"${FORMAT_LOAD_AFTER:-?} after; of_proto = spans/s / otlp-proto's"
	printf '%-12s %10s %8s %8s %10s %8s %s\n' format spans/s p50_ms p99_ms bytes/span \
		of_proto verified
	for f in $FORMATS; do
		if [ -f "$WORK/na-$f" ]; then
			bps=$(val bytes_per_span "$WORK/probe-fmt-$f.txt" 2>/dev/null)
			printf '%-12s %10s %8s %8s %10s %8s %s\n' "$f" n/a n/a n/a "${bps:-?}" n/a \
				"n/a: $(cat "$WORK/na-$f")"
			continue
		fi
		lg=$WORK/loadgen-fmt-$f.txt
		rate=$(val spans_per_s "$lg" 2>/dev/null)
		frac=$(awk -v r="${rate:-0}" -v p="${proto:-0}" \
			'BEGIN { if (p > 0) printf "%.2f", r / p; else print "?" }')
		printf '%-12s %10s %8s %8s %10s %8s %s\n' "$f" "${rate:-?}" \
			"$(val latency_p50_ms "$lg" 2>/dev/null)" "$(val latency_p99_ms "$lg" 2>/dev/null)" \
			"$(val bytes_per_span "$lg" 2>/dev/null)" "$frac" \
			"$(cat "$WORK/verified-fmt-$f" 2>/dev/null || echo '?')"
	done
}

#---- query benchmark ----

# picks the traces to query from loadgen's "traceid spanid" lines (the files
# given): those of
# exactly TRACE_SPANS spans, or, with fewer than 100 of them, those of the
# largest span count that has 100 traces (else the largest count at all);
# sets QUERY_TRACE_SPANS and writes query-ids.txt
pick_query_ids() {
	local n
	awk '{ c[$1]++ } END { for (t in c) print c[t], t }' "$@" >"$WORK/trace-sizes.txt"
	QUERY_TRACE_SPANS=$(awk -v want="$TRACE_SPANS" '
		{ n[$1]++ }
		END {
			if (n[want] >= 100) { print want; exit }
			best = 0
			for (k in n) if (n[k] >= 100 && k + 0 > best) best = k + 0
			if (!best) for (k in n) if (k + 0 > best) best = k + 0
			print best
		}' "$WORK/trace-sizes.txt")
	awk -v s="$QUERY_TRACE_SPANS" '$1 == s { print $2 }' "$WORK/trace-sizes.txt" \
		>"$WORK/query-ids.txt"
	n=$(wc -l <"$WORK/query-ids.txt")
	if [ "$n" -eq 0 ]; then
		log "no trace to query"
		return 1
	fi
	[ "$QUERY_TRACE_SPANS" = "$TRACE_SPANS" ] ||
		log "fewer than 100 traces of $TRACE_SPANS spans; querying $n of $QUERY_TRACE_SPANS"
	log "query: $n traces of $QUERY_TRACE_SPANS spans to pick from"
}

# direct lookups run on at most one thread per CPU: more would measure how
# long the scheduler keeps a runnable thread waiting (a time slice, ~4 ms),
# not the store
direct_threads() {
	local cpus
	cpus=$(nproc)
	echo $(( $1 < cpus ? $1 : cpus ))
}

# the HTTP run and the direct run for each count of QUERY_CONNECTIONS
run_queries() {
	local data=$1 c t
	QUERY_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	for c in $QUERY_CONNECTIONS; do
		log "query: ${QUERY_SECONDS}s of GET /api/traces/{id} over $c connections"
		run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --ids "$WORK/query-ids.txt" \
			--connections "$c" --duration "$QUERY_SECONDS" --seed "$SEED" \
			--expect-spans "$QUERY_TRACE_SPANS" >"$WORK/query-http-$c.txt" ||
			{ log "querybench reported failed queries (http, $c connections)"; FAILED=1; }
		# beside the idle server: LMDB readers and the writer never block
		# each other
		t=$(direct_threads "$c")
		log "query: ${QUERY_SECONDS}s of store lookups alone on $t threads"
		run_child "$QUERYBENCH" --direct "$data" --ids "$WORK/query-ids.txt" \
			--connections "$t" --duration "$QUERY_SECONDS" --seed "$SEED" \
			--expect-spans "$QUERY_TRACE_SPANS" >"$WORK/query-direct-$c.txt" ||
			{ log "querybench reported failed lookups (direct, $t threads)"; FAILED=1; }
	done
	QUERY_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

# loads the server until the store holds QUERY_SPANS spans.  A request
# holds the spans of one service, so it carries fewer than SPANS_PER_BATCH
# spans on average; what is missing is topped up by further loadgen runs
# with other seeds (the same seed would send the same traces again).
# Sets FILL_ACKED; leaves fill-ids-K.txt and loadgen-fill-K.txt.
fill_store() {
	local k=0 requests acked
	FILL_ACKED=0
	while [ "$FILL_ACKED" -lt "$QUERY_SPANS" ] && [ $k -lt 4 ]; do
		requests=$(( (QUERY_SPANS - FILL_ACKED + SPANS_PER_BATCH - 1) / SPANS_PER_BATCH ))
		run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --requests "$requests" \
			--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
			--seed "$((SEED + k))" --ids-out "$WORK/fill-ids-$k.txt" --quiet \
			>"$WORK/loadgen-fill-$k.txt" ||
			{ log "loadgen reported failed requests (fill)"; FAILED=1; }
		acked=$(val spans_acked "$WORK/loadgen-fill-$k.txt")
		[ -n "$acked" ] || return 1
		FILL_ACKED=$((FILL_ACKED + acked))
		log "query: fill: $acked spans at $(val spans_per_s "$WORK/loadgen-fill-$k.txt")" \
			"spans/s, $FILL_ACKED in the store"
		k=$((k + 1))
	done
}

# fills a fresh store (sync none: the sync mode does not change reads), then
# queries it on the idle server; leaves query-*.txt and STORE_SPANS
run_query() {
	local data=$WORK/data-query c
	log "query: filling a store with $QUERY_SPANS spans over $CONNECTIONS connections"
	start_server none "$data" "$WORK/server-query.log" || return 1
	if fill_store && pick_query_ids "$WORK"/fill-ids-*.txt; then
		rm -f "$WORK"/fill-ids-*.txt   # about 50 bytes per span
		# a lookup seeks once per sealed bucket and once per open commit
		"$TRACEMAP" stats --data "$data" >"$WORK/stats-query.txt" 2>&1
		log "query: store has $(val sealed_buckets "$WORK/stats-query.txt") sealed" \
			"buckets, $(val open_commits "$WORK/stats-query.txt") open commits," \
			"$(awk '$1 == "used_bytes" { printf "%.0f", $2 / 1048576 }' \
				"$WORK/stats-query.txt") MB"
		run_queries "$data"
	else
		FAILED=1
	fi
	stop_server || { log "server exited with status $? (query)"; FAILED=1; }
	# the store's own span count, as the first direct run read it
	c=${QUERY_CONNECTIONS%% *}
	STORE_SPANS=$(val store_spans "$WORK/query-direct-$c.txt" 2>/dev/null)
	if [ -z "$STORE_SPANS" ] || [ "$STORE_SPANS" -lt "$FILL_ACKED" ]; then
		log "store holds ${STORE_SPANS:-?} spans, $FILL_ACKED were acknowledged"
		FAILED=1
	fi
	rm -rf "$data"
}

print_query_table() {
	local c h d
	echo
	echo "tracemap query benchmark: GET /api/traces/{id}, ${QUERY_SECONDS}s per run," \
		"$(wc -l <"$WORK/query-ids.txt" 2>/dev/null || echo 0) trace IDs, seed $SEED," \
		"$(nproc) CPUs, load average ${QUERY_LOAD_BEFORE:-?} before /" \
		"${QUERY_LOAD_AFTER:-?} after; direct = tm_store_trace_get() alone"
	printf '%-5s %11s %11s %8s %8s %8s %7s %10s %10s %10s %10s\n' conns store_spans \
		trace_spans http_qps http_p50 http_p99 threads direct_qps direct_p50 direct_p99 \
		bytes/resp
	for c in $QUERY_CONNECTIONS; do
		h=$WORK/query-http-$c.txt
		d=$WORK/query-direct-$c.txt
		printf '%-5s %11s %11s %8s %8s %8s %7s %10s %10s %10s %10s\n' "$c" \
			"${STORE_SPANS:-?}" "${QUERY_TRACE_SPANS:-?}" "$(val qps "$h" 2>/dev/null)" \
			"$(val latency_p50_ms "$h" 2>/dev/null)" "$(val latency_p99_ms "$h" 2>/dev/null)" \
			"$(direct_threads "$c")" "$(val qps "$d" 2>/dev/null)" \
			"$(val latency_p50_ms "$d" 2>/dev/null)" "$(val latency_p99_ms "$d" 2>/dev/null)" \
			"$(val bytes_per_response "$h" 2>/dev/null)"
	done
}

#---- search benchmark ----

# the endpoints querybench times, and the p99 each must stay under (ms)
SEARCH_ENDPOINTS="search_1h slow_1h slow_24h services"
search_target() {
	case $1 in
	search_1h | slow_1h) echo 20 ;;
	slow_24h) echo 100 ;;
	services) echo 2 ;;
	*) echo - ;;
	esac
}

# resident page cache of the store's files, in MB ("?" without fincore)
store_resident_mb() {
	local data=$1
	if ! command -v fincore >/dev/null; then
		echo "?"
		return
	fi
	fincore --bytes --noheadings --output RES "$data"/*.mdb 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f", s / 1048576 }'
}

# CPU ticks (user + system) the server has used so far
server_ticks() {
	awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0
}

# waits until the server has been idle (under 5% of a CPU) for 2 s in a
# row, at most 600 s: work it does on opening a store (say replaying
# stored spans into an in-memory analysis) must not overlap the queries.
# Sets IDLE_AFTER_S and STARTUP_CPU_S.
wait_server_idle() {
	local hz t0 prev now quiet=0 waited=0
	hz=$(getconf CLK_TCK)
	t0=$(server_ticks)
	prev=$t0
	while [ $quiet -lt 2 ] && [ $waited -lt 600 ]; do
		sleep 1
		waited=$((waited + 1))
		now=$(server_ticks)
		if [ $((now - prev)) -lt $((hz / 20 + 1)) ]; then
			quiet=$((quiet + 1))
		else
			quiet=0
		fi
		prev=$now
	done
	IDLE_AFTER_S=$waited
	STARTUP_CPU_S=$(awk -v t=$((prev - t0)) -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
	[ $quiet -ge 2 ] || log "search: the server is still busy after ${waited}s; querying anyway"
}

# drops the page cache of the store's files (no root needed: fadvise
# DONTNEED through dd), so the first queries read from the disk
drop_store_cache() {
	local f
	for f in "$1"/*.mdb; do
		dd if=/dev/null of="$f" oflag=nocache conv=notrunc,fdatasync count=0 status=none ||
			log "search: could not drop the page cache of $f"
	done
}

# fills a fresh store with SEARCH_SPANS spans whose trace starts spread
# over the last SEARCH_SPREAD seconds (sync none: the sync mode changes
# neither what is stored nor how it is read), checks it, restarts the
# server on it and times the endpoints; leaves search-$c.txt
run_search() {
	local data=$WORK/data-search c acked
	log "search: filling a store with $SEARCH_SPANS spans (traces of $SEARCH_TRACE_SPANS" \
		"spans, starts over the last ${SEARCH_SPREAD}s) over $CONNECTIONS connections, sync none"
	start_server none "$data" "$WORK/server-search-fill.log" || return 1
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --spans "$SEARCH_SPANS" \
		--trace-spans "$SEARCH_TRACE_SPANS" --spread "$SEARCH_SPREAD" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" --seed "$SEED" \
		--server-pid "$SERVER_PID" --quiet >"$WORK/loadgen-search-fill.txt" ||
		{ log "loadgen reported failed requests (search fill)"; FAILED=1; }
	stop_server || { log "server exited with status $? (search fill)"; FAILED=1; }
	acked=$(val spans_acked "$WORK/loadgen-search-fill.txt")
	log "search: fill: ${acked:-?} spans at" \
		"$(val spans_per_s "$WORK/loadgen-search-fill.txt") spans/s; checking the store"
	verify_store "$data" "$acked" search
	"$TRACEMAP" stats --data "$data" >"$WORK/stats-search.txt" 2>&1
	if [ "$SEARCH_CACHE" = cold ]; then
		drop_store_cache "$data"
	fi
	SEARCH_RESIDENT_MB=$(store_resident_mb "$data")
	# a trace lookup seeks once per sealed bucket and once per open commit
	log "search: store $(awk '$1 == "used_bytes" { printf "%.0f", $2 / 1048576 }' \
		"$WORK/stats-search.txt") MB, ${SEARCH_RESIDENT_MB} MB of it in the page cache" \
		"($SEARCH_CACHE), $(val sealed_buckets "$WORK/stats-search.txt") sealed buckets," \
		"$(val open_commits "$WORK/stats-search.txt") open commits; restarting the server on it"
	start_server full "$data" "$WORK/server-search.log" || return 1
	wait_server_idle
	log "search: the server was idle after ${IDLE_AFTER_S}s, having used" \
		"${STARTUP_CPU_S}s of CPU since it started listening"
	SEARCH_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	for c in $SEARCH_CONNECTIONS; do
		log "search: ${SEARCH_SECONDS}s per endpoint over $c connections"
		run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --connections "$c" \
			--duration "$SEARCH_SECONDS" --seed "$SEED" --limit "$SEARCH_LIMIT" \
			--search=1h --slow 1h --slow 24h --services >"$WORK/search-$c.txt" ||
			{ log "querybench: failed or empty answers ($c connections)"; FAILED=1; }
	done
	SEARCH_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
	stop_server || { log "server exited with status $? (search)"; FAILED=1; }
	rm -rf "$data"
}

print_search_table() {
	local c e f p99 target met fill spans traces
	fill=$WORK/loadgen-search-fill.txt
	spans=$(val spans "$WORK/check-search.txt" 2>/dev/null)
	traces=$(val traces "$WORK/check-search.txt" 2>/dev/null)
	echo
	echo "tracemap search benchmark: ${spans:-?} spans in ${traces:-?} traces" \
		"($(awk -v s="${spans:-0}" -v t="${traces:-0}" \
			'BEGIN { if (t > 0) printf "%.1f", s / t; else print "?" }') spans/trace)" \
		"as tracemap check counts them, starts over the last ${SEARCH_SPREAD}s, filled at" \
		"$(val spans_per_s "$fill" 2>/dev/null) spans/s (sync none); server restarted on" \
		"the store and idle after ${IDLE_AFTER_S:-?}s (${STARTUP_CPU_S:-?}s of startup CPU)," \
		"page cache $SEARCH_CACHE (${SEARCH_RESIDENT_MB:-?} MB resident);" \
		"$(val sealed_buckets "$WORK/stats-search.txt" 2>/dev/null) sealed buckets," \
		"$(val open_commits "$WORK/stats-search.txt" 2>/dev/null) open commits;" \
		"limit $SEARCH_LIMIT, ${SEARCH_SECONDS}s per endpoint, seed $SEED, $(nproc) CPUs," \
		"load average ${SEARCH_LOAD_BEFORE:-?} before / ${SEARCH_LOAD_AFTER:-?} after"
	echo "floor = GET /api/v2/autocompleteKeys (no store access), first and last phase;" \
		"x_floor = p99 / floor p99; results = per answer (slow: matched = total per answer)"
	printf '%-5s %-9s %8s %8s %8s %8s %8s %8s %9s %8s %8s %7s %s\n' conns endpoint count \
		p50_ms p90_ms p99_ms max_ms x_floor nonempty results matched target met
	for c in $SEARCH_CONNECTIONS; do
		f=$WORK/search-$c.txt
		for e in floor $SEARCH_ENDPOINTS; do
			p99=$(val "${e}_p99_ms" "$f" 2>/dev/null)
			target=$(search_target "$e")
			met=-
			[ "$target" = - ] || [ -z "$p99" ] ||
				met=$(awk -v p="$p99" -v t="$target" 'BEGIN { print (p < t ? "yes" : "NO") }')
			printf '%-5s %-9s %8s %8s %8s %8s %8s %8s %9s %8s %8s %7s %s\n' "$c" "$e" \
				"$(val "${e}_queries" "$f" 2>/dev/null)" \
				"$(val "${e}_p50_ms" "$f" 2>/dev/null)" \
				"$(val "${e}_p90_ms" "$f" 2>/dev/null)" "${p99:-?}" \
				"$(val "${e}_max_ms" "$f" 2>/dev/null)" \
				"$(val "${e}_p99_of_floor" "$f" 2>/dev/null || true)" \
				"$(val "${e}_nonempty" "$f" 2>/dev/null)" \
				"$(val "${e}_results_per_response" "$f" 2>/dev/null)" \
				"$(val "${e}_total_per_response" "$f" 2>/dev/null)" \
				"$target" "$met"
		done
	done
}

#---- ingest A/B ----

# one timed ingest run of binary $1 ("old" or "new") in round $2 on a fresh
# store; leaves loadgen-ab-$which-$round.txt and verified-ab-$which-$round
run_ab_one() {
	local which=$1 round=$2 bin args rc name
	name=ab-$which-$round
	bin=$AB_OLD
	args=$AB_OLD_ARGS
	if [ "$which" = new ]; then
		bin=$AB_NEW
		args=$AB_NEW_ARGS
	fi
	log "ingest A/B: round $round, $which ($bin${args:+ $args}): ${DURATION}s over" \
		"$CONNECTIONS connections, sync full"
	# shellcheck disable=SC2086  # args is a list of options
	start_server full "$WORK/data-$name" "$WORK/server-$name.log" "$bin" $args || return 1
	perf_start "$name"
	# shellcheck disable=SC2086  # AB_LOADGEN_ARGS is a list of options
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --duration "$DURATION" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" --seed "$SEED" \
		--server-pid "$SERVER_PID" --quiet $AB_LOADGEN_ARGS >"$WORK/loadgen-$name.txt"
	rc=$?
	perf_stop "$name"
	[ $rc -eq 0 ] || { log "loadgen reported failed requests ($name)"; FAILED=1; }
	stop_server || { log "server exited with status $? ($name)"; FAILED=1; }
	verify_store "$WORK/data-$name" "$(val spans_acked "$WORK/loadgen-$name.txt")" "$name" "$bin"
	rm -rf "$WORK/data-$name"
}

run_ab() {
	local round which
	AB_LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
	for round in $(seq "$AB_ROUNDS"); do
		for which in old new; do
			run_ab_one "$which" "$round" || FAILED=1
		done
	done
	AB_LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
}

# the mean of KEY over the runs of one binary
ab_mean() {
	local which=$1 key=$2 round
	for round in $(seq "$AB_ROUNDS"); do
		val "$key" "$WORK/loadgen-ab-$which-$round.txt" 2>/dev/null
	done | awk -v f="$([ "$key" = spans_per_s ] && echo '%.0f' || echo '%.2f')" \
		'{ s += $1; n++ } END { if (n) printf f, s / n; else print "?" }'
}

# new's mean of KEY over old's
ab_ratio() {
	awk -v o="$(ab_mean old "$1")" -v n="$(ab_mean new "$1")" \
		'BEGIN { if (o > 0) printf "%.3f", n / o; else print "?" }'
}

print_ab_table() {
	local round which lg pair
	local fmt='%-7s %-4s %10s %8s %8s %8s %11s %8s %s\n'
	echo
	echo "tracemap ingest A/B: old $AB_OLD${AB_OLD_ARGS:+ $AB_OLD_ARGS}," \
		"new $AB_NEW${AB_NEW_ARGS:+ $AB_NEW_ARGS}; ${DURATION}s per run, runs" \
		"alternate old, new ($AB_ROUNDS rounds), sync full, $CONNECTIONS connections," \
		"$SPANS_PER_BATCH spans/request${AB_LOADGEN_ARGS:+, loadgen $AB_LOADGEN_ARGS}," \
		"seed $SEED, $(nproc) CPUs, load average ${AB_LOAD_BEFORE:-?} before /" \
		"${AB_LOAD_AFTER:-?} after"
	# shellcheck disable=SC2059  # the format is the table's
	printf "$fmt" round bin spans/s p50_ms p99_ms rss_mb rss_anon_mb new/old verified
	for round in $(seq "$AB_ROUNDS"); do
		for which in old new; do
			lg=$WORK/loadgen-ab-$which-$round.txt
			# the round's new spans/s over its old: drift between rounds cancels
			pair=-
			[ "$which" = old ] || pair=$(awk \
				-v o="$(val spans_per_s "$WORK/loadgen-ab-old-$round.txt" 2>/dev/null)" \
				-v n="$(val spans_per_s "$lg" 2>/dev/null)" \
				'BEGIN { if (o > 0) printf "%.3f", n / o; else print "?" }')
			# shellcheck disable=SC2059
			printf "$fmt" "$round" "$which" "$(val spans_per_s "$lg" 2>/dev/null)" \
				"$(val latency_p50_ms "$lg" 2>/dev/null)" \
				"$(val latency_p99_ms "$lg" 2>/dev/null)" \
				"$(val server_peak_rss_mb "$lg" 2>/dev/null)" \
				"$(val server_peak_rss_anon_mb "$lg" 2>/dev/null)" "$pair" \
				"$(cat "$WORK/verified-ab-$which-$round" 2>/dev/null || echo '?')"
		done
	done
	for which in old new; do
		# shellcheck disable=SC2059
		printf "$fmt" mean "$which" "$(ab_mean "$which" spans_per_s)" \
			"$(ab_mean "$which" latency_p50_ms)" "$(ab_mean "$which" latency_p99_ms)" \
			"$(ab_mean "$which" server_peak_rss_mb)" \
			"$(ab_mean "$which" server_peak_rss_anon_mb)" "" ""
	done
	# shellcheck disable=SC2059
	printf "$fmt" new/old "" "$(ab_ratio spans_per_s)" "$(ab_ratio latency_p50_ms)" \
		"$(ab_ratio latency_p99_ms)" "$(ab_ratio server_peak_rss_mb)" \
		"$(ab_ratio server_peak_rss_anon_mb)" "" ""
	echo "target: new/old spans/s >= 0.80: $(ab_ratio spans_per_s |
		awk '{ print ($1 == "?" ? "?" : ($1 >= 0.80 ? "met" : "NOT met")) }')"
}

#---- service map benchmark ----

# BN_SPREAD: the bottleneck store's trace starts spread over this many
# seconds before loadgen starts (the last one about then), so that the hour
# [BN_END - 1 h, BN_END], BN_END 5 s after loadgen starts, holds them all
BN_SPREAD=3590

load1() { cut -d' ' -f1 /proc/loadavg; }

now_us() { date +%s%6N; }

# GET PATH from the running server; the body on stdout, nothing on failure
api_get() {
	curl -s --max-time 120 "http://127.0.0.1:$PORT$1"
}

# the sum of the numbers after every "KEY": in the JSON on stdin
json_sum() {
	grep -o "\"$1\":[0-9]*" | awk -F: '{ s += $2 } END { printf "%.0f\n", s }'
}

# PAIR_WAIT ("1s", "500ms", "2m") in whole seconds, rounded up
pair_wait_s() {
	awk -v d="$PAIR_WAIT" 'BEGIN {
		n = d + 0; u = substr(d, length(n "") + 1)
		f = (u == "ms") ? 0.001 : (u == "m") ? 60 : (u == "h") ? 3600 : 1
		s = n * f; printf "%d", (s == int(s)) ? s : int(s) + 1 }'
}

# the ingest A/B of the binary with itself: old = --no-service-map, new =
# with the service map (pairing and rollups)
run_smap_ab() {
	log "service map: ingest of $TRACEMAP without (old) and with (new) the service map"
	run_ab
}

# one trace of CP_SPANS spans in a fresh store; its critical path over
# HTTP, then read and analysed in querybench's process beside the server;
# leaves cp-http.txt, cp-direct.txt (and cp-unit.txt if the unit test is
# built)
run_smap_cp() {
	local data=$WORK/data-cp acked unit=$BUILD_DIR/tests/test_trace_tree
	log "critical path: one trace of $CP_SPANS spans"
	start_server none "$data" "$WORK/server-cp.log" "$TRACEMAP" --pair-wait "$PAIR_WAIT" ||
		return 1
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --traces 1 --trace-spans "$CP_SPANS" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
		--seed "$((SEED + 10))" --ids-out "$WORK/cp-spans.txt" --quiet \
		>"$WORK/loadgen-cp.txt" || { log "loadgen reported failed requests (critical path)"; FAILED=1; }
	awk '{ print $1 }' "$WORK/cp-spans.txt" | sort -u >"$WORK/cp-ids.txt"
	acked=$(val spans_acked "$WORK/loadgen-cp.txt")
	if [ "$(wc -l <"$WORK/cp-ids.txt")" -ne 1 ] || [ "${acked:-0}" -ne "$CP_SPANS" ]; then
		log "critical path: expected one trace of $CP_SPANS acknowledged spans, got" \
			"${acked:-0} spans in $(wc -l <"$WORK/cp-ids.txt") traces"
		FAILED=1
	fi
	wait_server_idle   # the pairer takes the trace after --pair-wait
	CP_LOAD_BEFORE=$(load1)
	perf_start cp
	run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --ids "$WORK/cp-ids.txt" \
		--critical-path --connections 1 --duration "$CP_SECONDS" --seed "$SEED" \
		--expect-spans "$CP_SPANS" >"$WORK/cp-http.txt" ||
		{ log "querybench reported failed queries (critical path, http)"; FAILED=1; }
	perf_stop cp
	run_child "$QUERYBENCH" --direct "$data" --ids "$WORK/cp-ids.txt" --critical-path \
		--connections 1 --duration "$CP_SECONDS" --seed "$SEED" \
		--expect-spans "$CP_SPANS" >"$WORK/cp-direct.txt" ||
		{ log "querybench reported failed lookups (critical path, direct)"; FAILED=1; }
	CP_LOAD_AFTER=$(load1)
	stop_server || { log "server exited with status $? (critical path)"; FAILED=1; }
	rm -rf "$data"
	if [ -x "$unit" ]; then
		"$unit" 2>/dev/null | grep "^$CP_SPANS spans:" >"$WORK/cp-unit.txt"
	fi
}

# slowTraces + typicalTraces of GET /api/bottlenecks for BN_ENTRY over
# [BN_END - 1 h, BN_END]; empty when the server does not answer
bn_traces() {
	local body
	body=$(api_get "/api/bottlenecks?service=$BN_ENTRY&start=$((BN_END - 3600000000))&end=$BN_END")
	[ -n "$body" ] || return 0
	echo $(( $(printf '%s' "$body" | json_sum slowTraces) +
		$(printf '%s' "$body" | json_sum typicalTraces) ))
}

# waits (at most CATCHUP_S) until the bottleneck finder counts all $1
# traces: a trace counts once it is paired and its critical path stored.
# Sets BN_CATCHUP_S.
wait_bn_caught_up() {
	local want=$1 got waited=0
	got=$(bn_traces)
	while [ "${got:-0}" != "$want" ] && [ $waited -lt "$CATCHUP_S" ]; do
		sleep 2
		waited=$((waited + 2))
		got=$(bn_traces)
	done
	BN_CATCHUP_S=$waited
	log "bottlenecks: ${got:-no answer} of $want traces counted after ${waited}s"
	[ "${got:-0}" = "$want" ] || { log "bottlenecks: the pairing did not catch up"; FAILED=1; }
}

# BN_TRACES traces, all with their root in BN_ENTRY, starting over one
# hour; /api/bottlenecks of BN_ENTRY over that hour, once every trace is
# paired; leaves bn.txt
run_smap_bottlenecks() {
	local data=$WORK/data-bn acked
	log "bottlenecks: $BN_TRACES traces of $BN_TRACE_SPANS spans rooted in $BN_ENTRY," \
		"starts over ${BN_SPREAD}s, sync none, --pair-wait $PAIR_WAIT"
	start_server none "$data" "$WORK/server-bn.log" "$TRACEMAP" --pair-wait "$PAIR_WAIT" ||
		return 1
	# loadgen's traces start in [its start - BN_SPREAD s, its start + 1 s)
	BN_END=$(( $(now_us) + (3600 - BN_SPREAD) * 500000 ))
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --traces "$BN_TRACES" \
		--trace-spans "$BN_TRACE_SPANS" --spread "$BN_SPREAD" --entry "$BN_ENTRY" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
		--seed "$((SEED + 20))" --server-pid "$SERVER_PID" --quiet >"$WORK/loadgen-bn.txt" ||
		{ log "loadgen reported failed requests (bottlenecks fill)"; FAILED=1; }
	log "bottlenecks: fill: $(val traces_acked "$WORK/loadgen-bn.txt") traces," \
		"$(val spans_acked "$WORK/loadgen-bn.txt") spans at" \
		"$(val spans_per_s "$WORK/loadgen-bn.txt") spans/s; waiting for the pairing"
	wait_bn_caught_up "$(val traces_acked "$WORK/loadgen-bn.txt")"
	wait_server_idle
	BN_LOAD_BEFORE=$(load1)
	perf_start bn
	run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --connections 1 \
		--duration "$BN_SECONDS" --seed "$SEED" --service "$BN_ENTRY" --end "$BN_END" \
		--bottlenecks 1h >"$WORK/bn.txt" ||
		{ log "querybench: failed or empty answers (bottlenecks)"; FAILED=1; }
	perf_stop bn
	if [ "$(val bottlenecks_1h_traces_per_response "$WORK/bn.txt")" != \
		"$(val traces_acked "$WORK/loadgen-bn.txt")" ]; then
		log "bottlenecks: the answers count $(val bottlenecks_1h_traces_per_response \
			"$WORK/bn.txt") traces, $(val traces_acked "$WORK/loadgen-bn.txt") were sent"
		FAILED=1
	fi
	BN_LOAD_AFTER=$(load1)
	stop_server || { log "server exited with status $? (bottlenecks)"; FAILED=1; }
	acked=$(val spans_acked "$WORK/loadgen-bn.txt")
	verify_store "$data" "$acked" bn
	rm -rf "$data"
}

# the sum of the calls of every edge of the service map over [$1, now]
map_calls() {
	api_get "/api/servicemap?start=$1&end=$(now_us)" | json_sum calls
}

# waits (at most CATCHUP_S) until the service map over [$1, now] holds at
# least $2 calls (every trace adds its root's) and has not changed for
# longer than the pair wait plus a flush (1 s); sets MAP_CATCHUP_S and
# MAP_CALLS
wait_map_caught_up() {
	local start_us=$1 min_calls=$2 calls prev=-1 same=0 need waited=0
	need=$(( ($(pair_wait_s) + 2) / 2 + 1 ))   # polls 2 s apart
	while [ $waited -lt "$CATCHUP_S" ]; do
		calls=$(map_calls "$start_us")
		if [ "${calls:-0}" -ge "$min_calls" ] && [ "$calls" = "$prev" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		[ $same -lt "$need" ] || break
		prev=$calls
		sleep 2
		waited=$((waited + 2))
	done
	MAP_CATCHUP_S=$waited
	MAP_CALLS=$calls
	log "service map: ${calls:-no answer} calls (at least $min_calls expected), unchanged" \
		"for $((same * 2))s, after ${waited}s"
	[ $same -ge "$need" ] || { log "service map: the pairing did not catch up"; FAILED=1; }
}

# fills a fresh store with SMAP_SPANS spans of a SMAP_SERVICES-service
# system over the last SMAP_SPREAD seconds and waits for the service map;
# sets MAP_FILL_ACKED
fill_map_store() {
	local data=$1 t0
	log "service map: filling a store with $SMAP_SPANS spans of $SMAP_SERVICES services" \
		"over the last ${SMAP_SPREAD}s, sync none, --pair-wait $PAIR_WAIT"
	start_server none "$data" "$WORK/server-map-fill.log" "$TRACEMAP" \
		--pair-wait "$PAIR_WAIT" || return 1
	t0=$(now_us)
	run_child "$LOADGEN" --url "http://127.0.0.1:$PORT" --spans "$SMAP_SPANS" \
		--trace-spans "$SMAP_TRACE_SPANS" --spread "$SMAP_SPREAD" \
		--services "$SMAP_SERVICES" --connections "$CONNECTIONS" \
		--spans-per-batch "$SPANS_PER_BATCH" --seed "$((SEED + 30))" \
		--server-pid "$SERVER_PID" --quiet >"$WORK/loadgen-map-fill.txt" ||
		{ log "loadgen reported failed requests (service map fill)"; FAILED=1; }
	MAP_FILL_ACKED=$(val spans_acked "$WORK/loadgen-map-fill.txt")
	log "service map: fill: $(val traces_acked "$WORK/loadgen-map-fill.txt") traces," \
		"${MAP_FILL_ACKED:-?} spans at $(val spans_per_s "$WORK/loadgen-map-fill.txt")" \
		"spans/s; waiting for the pairing"
	wait_map_caught_up "$((t0 - SMAP_SPREAD * 1000000 - 60000000))" \
		"$(val traces_acked "$WORK/loadgen-map-fill.txt")"
	stop_server || { log "server exited with status $? (service map fill)"; FAILED=1; }
}

# the service map of the filled store over 1 h and 24 h, timed on a server
# restarted with its defaults (sync SMAP_LIVE_SYNC), first idle (the
# baseline), then while loadgen ingests at full rate (CONNECTIONS
# connections, wall-clock times) into it; leaves map-idle.txt, map.txt and
# loadgen-map-live.txt
run_smap_map() {
	local data=$WORK/data-map live_acked
	fill_map_store "$data" || return 1
	start_server "$SMAP_LIVE_SYNC" "$data" "$WORK/server-map.log" "$TRACEMAP" || return 1
	wait_server_idle   # the service map replays what was not flushed
	log "service map: server restarted (sync $SMAP_LIVE_SYNC), idle after ${IDLE_AFTER_S}s;" \
		"querying it idle, the baseline"
	MAP_IDLE_LOAD_BEFORE=$(load1)
	perf_start map-idle
	run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --connections 1 \
		--duration "$SMAP_SECONDS" --seed "$SEED" --servicemap 1h --servicemap 24h \
		>"$WORK/map-idle.txt" ||
		{ log "querybench: failed or empty answers (service map, idle)"; FAILED=1; }
	perf_stop map-idle
	log "service map: querying while loadgen ingests over $CONNECTIONS connections"
	MAP_LOAD_BEFORE=$(load1)
	"$LOADGEN" --url "http://127.0.0.1:$PORT" --duration 3600 --services "$SMAP_SERVICES" \
		--connections "$CONNECTIONS" --spans-per-batch "$SPANS_PER_BATCH" \
		--seed "$((SEED + 31))" --server-pid "$SERVER_PID" --quiet \
		>"$WORK/loadgen-map-live.txt" 2>"$WORK/loadgen-map-live.err" &
	LIVE_PID=$!
	sleep 5   # templates are made, and the ingest reaches its rate
	perf_start map
	run_child "$QUERYBENCH" --url "http://127.0.0.1:$PORT" --connections 1 \
		--duration "$SMAP_SECONDS" --seed "$SEED" --servicemap 1h --servicemap 24h \
		>"$WORK/map.txt" || { log "querybench: failed or empty answers (service map)"; FAILED=1; }
	perf_stop map
	MAP_LOAD_AFTER=$(load1)
	kill -INT "$LIVE_PID"   # loadgen stops and prints its results
	wait "$LIVE_PID" || { log "loadgen reported failed requests (service map, live)"; FAILED=1; }
	LIVE_PID=
	stop_server || { log "server exited with status $? (service map)"; FAILED=1; }
	live_acked=$(val spans_acked "$WORK/loadgen-map-live.txt")
	verify_store "$data" "$(( ${MAP_FILL_ACKED:-0} + ${live_acked:-0} ))" map
	rm -rf "$data"
}

run_smap() {
	SMAP_LOAD_START=$(load1)
	run_smap_ab
	run_smap_cp || FAILED=1
	run_smap_bottlenecks || FAILED=1
	run_smap_map || FAILED=1
	SMAP_LOAD_END=$(load1)
}

# "yes" when value $1 meets target $3 by comparison $2 (< or >=), else "NO"
met() {
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "" || v == "?") { print "?"; exit }
		ok = (op == "<") ? (v + 0 < t + 0) : (v + 0 >= t + 0)
		print ok ? "yes" : "NO" }'
}

# one row of the table: measure, value, comparison, target, base, load,
# notes (on one line, however it was written)
smap_row() {
	printf '%-26s %9s %8s %4s %9s %11s  %s\n' "$1" "${2:-?}" "$3 $4" "$(met "${2:-?}" "$3" "$4")" \
		"${5:-?}" "$6" "$(printf '%s' "$7" | tr -s '\n\t ' '   ')"
}

# the A/B per round: new (with the map) over old (without)
ab_round_ratios() {
	local round
	for round in $(seq "$AB_ROUNDS"); do
		awk -v o="$(val spans_per_s "$WORK/loadgen-ab-old-$round.txt" 2>/dev/null)" \
			-v n="$(val spans_per_s "$WORK/loadgen-ab-new-$round.txt" 2>/dev/null)" \
			'BEGIN { if (o > 0) printf "%.3f ", n / o; else printf "? " }'
	done
}

print_smap_table() {
	local m=$WORK/map.txt i=$WORK/map-idle.txt b=$WORK/bn.txt h=$WORK/cp-http.txt
	local d=$WORK/cp-direct.txt
	local live=$WORK/loadgen-map-live.txt unit
	unit=$(cut -d: -f2- "$WORK/cp-unit.txt" 2>/dev/null)
	echo
	echo "tracemap service map benchmark: seed $SEED, $(nproc) CPUs, load average" \
		"${SMAP_LOAD_START:-?} at the start / ${SMAP_LOAD_END:-?} at the end;" \
		"base = the baseline of the same run (ingest: spans/s without the map;" \
		"service map: p99 on the idle server; critical path: p99 of the same read" \
		"and analysis in-process; bottlenecks: p99 of GET /api/v2/autocompleteKeys," \
		"the HTTP floor); load = load average before/after that measurement"
	printf '%-26s %9s %8s %4s %9s %11s  %s\n' measure value target met base load notes
	smap_row ingest_map_on/off "$(ab_ratio spans_per_s)" ">=" 0.80 \
		"$(ab_mean old spans_per_s)" "${AB_LOAD_BEFORE:-?}/${AB_LOAD_AFTER:-?}" \
		"spans/s with the map $(ab_mean new spans_per_s), without $(ab_mean old spans_per_s);
		per round $(ab_round_ratios); ${DURATION}s per run, sync full, $CONNECTIONS conns;
		p99 ms $(ab_mean new latency_p99_ms) vs $(ab_mean old latency_p99_ms); rss_anon MB
		$(ab_mean new server_peak_rss_anon_mb) vs $(ab_mean old server_peak_rss_anon_mb)"
	smap_row servicemap_1h_p99_ms "$(val servicemap_1h_p99_ms "$m" 2>/dev/null)" "<" 20 \
		"$(val servicemap_1h_p99_ms "$i" 2>/dev/null)" \
		"${MAP_LOAD_BEFORE:-?}/${MAP_LOAD_AFTER:-?}" \
		"idle p50 $(val servicemap_1h_p50_ms "$i" 2>/dev/null) (load ${MAP_IDLE_LOAD_BEFORE:-?});
		floor p99 $(val floor_p99_ms "$m" 2>/dev/null);
		p50 $(val servicemap_1h_p50_ms "$m" 2>/dev/null), $(val servicemap_1h_queries \
		"$m" 2>/dev/null) queries, $(val servicemap_1h_results_per_response "$m" \
		2>/dev/null) edges, $(val servicemap_1h_nodes_per_response "$m" 2>/dev/null) nodes;
		while ingesting $(val spans_per_s "$live" 2>/dev/null) spans/s"
	smap_row servicemap_24h_p99_ms "$(val servicemap_24h_p99_ms "$m" 2>/dev/null)" "<" 100 \
		"$(val servicemap_24h_p99_ms "$i" 2>/dev/null)" \
		"${MAP_LOAD_BEFORE:-?}/${MAP_LOAD_AFTER:-?}" \
		"idle p50 $(val servicemap_24h_p50_ms "$i" 2>/dev/null);
		p50 $(val servicemap_24h_p50_ms "$m" 2>/dev/null), $(val servicemap_24h_queries \
		"$m" 2>/dev/null) queries, $(val servicemap_24h_results_per_response "$m" \
		2>/dev/null) edges, $(val servicemap_24h_nodes_per_response "$m" 2>/dev/null) nodes;
		store: $(val traces_acked "$WORK/loadgen-map-fill.txt" 2>/dev/null) traces of
		$SMAP_SERVICES services over ${SMAP_SPREAD}s, ${MAP_CALLS:-?} calls, paired
		${MAP_CATCHUP_S:-?}s after the fill"
	smap_row critical_path_p99_ms "$(val latency_p99_ms "$h" 2>/dev/null)" "<" 20 \
		"$(val latency_p99_ms "$d" 2>/dev/null)" "${CP_LOAD_BEFORE:-?}/${CP_LOAD_AFTER:-?}" \
		"$(val spans_per_response "$h" 2>/dev/null) spans, p50 $(val latency_p50_ms "$h" \
		2>/dev/null), $(val queries "$h" 2>/dev/null) queries, $(val bytes_per_response "$h" \
		2>/dev/null) bytes; in-process p50/p99: read $(val read_p50_ms "$d" 2>/dev/null)/$(val \
		read_p99_ms "$d" 2>/dev/null), analysis $(val analysis_p50_ms "$d" 2>/dev/null)/$(val \
		analysis_p99_ms "$d" 2>/dev/null)${unit:+; unit test:$unit}"
	smap_row bottlenecks_1h_p99_ms "$(val bottlenecks_1h_p99_ms "$b" 2>/dev/null)" "<" 1000 \
		"$(val floor_p99_ms "$b" 2>/dev/null)" "${BN_LOAD_BEFORE:-?}/${BN_LOAD_AFTER:-?}" \
		"p50 $(val bottlenecks_1h_p50_ms "$b" 2>/dev/null), $(val bottlenecks_1h_queries \
		"$b" 2>/dev/null) queries, $(val bottlenecks_1h_traces_per_response "$b" \
		2>/dev/null) traces of $BN_ENTRY per answer ($BN_TRACES sent), $(val \
		bottlenecks_1h_results_per_response "$b" 2>/dev/null) rows; paired ${BN_CATCHUP_S:-?}s
		after the fill"
	echo "verified (spans stored = acknowledged): A/B $(cat "$WORK"/verified-ab-* 2>/dev/null |
		tr '\n' ' ')bottlenecks $(cat "$WORK/verified-bn" 2>/dev/null || echo '?'), service map" \
		"$(cat "$WORK/verified-map" 2>/dev/null || echo '?')"
}

[ "$DO_INGEST" = 0 ] || run_ingest
[ "$DO_FORMATS" = 0 ] || run_formats
[ "$DO_QUERY" = 0 ] || run_query || FAILED=1
[ "$DO_SEARCH" = 0 ] || run_search || FAILED=1
[ "$DO_AB" = 0 ] || run_ab
[ "$DO_SMAP" = 0 ] || run_smap
[ "$DO_INGEST" = 0 ] || print_ingest_table
[ "$DO_FORMATS" = 0 ] || print_format_table
[ "$DO_QUERY" = 0 ] || print_query_table
[ "$DO_SEARCH" = 0 ] || print_search_table
[ "$DO_AB" = 0 ] || print_ab_table
[ "$DO_SMAP" = 0 ] || print_smap_table
exit $FAILED
