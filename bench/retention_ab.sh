#!/bin/bash
# bench/retention_ab.sh [BUILD_DIR] [DURATION_S] [ROUNDS] - what deleting
# costs ingest: loadgen (8 connections, 512-span requests, --sync full) on a
# fresh store, alternating three servers: no deletion (--retention 0),
# eviction as fast as ingest (--max-size 128M, full after a few seconds), and
# age retention as fast as ingest (--retention 5s).  Prints spans/s, p99, the
# file size and the spans stored at the end of each run.
set -u
B=${1:-build}
DUR=${2:-20}
ROUNDS=${3:-3}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/tracemap-retention-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
run() {
	local name=$1 port= pid
	shift
	rm -rf "$WORK/d"
	: >"$WORK/log"
	"$B/tracemap" --listen 127.0.0.1:0 --data "$WORK/d" --sync full "$@" 2>"$WORK/log" &
	pid=$!
	for _ in $(seq 100); do
		port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$WORK/log" | head -1 | sed 's/.*://')
		[ -n "$port" ] && break
		sleep 0.1
	done
	local r
	r=$("$B/bench/loadgen" --url "http://127.0.0.1:$port" --connections 8 --duration "$DUR" \
		--seed 3 --quiet 2>&1)
	kill "$pid"
	wait "$pid"
	printf '%-6s spans/s %8s  p99_ms %8s  failed %s  file %s  stored_spans %s\n' "$name" \
		"$(awk '/^spans_per_s/ {print $2}' <<<"$r")" "$(awk '/^latency_p99_ms/ {print $2}' <<<"$r")" \
		"$(awk '/^requests_failed/ {print $2}' <<<"$r")" "$(stat -c %s "$WORK/d/data.mdb")" \
		"$("$B/tracemap" stats --data "$WORK/d" | awk '/^spans/ {print $2}')"
}
for _ in $(seq "$ROUNDS"); do
	run base --retention 0
	run evict --retention 0 --max-size 128M
	run age --retention 5s
done
