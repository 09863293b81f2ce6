#!/bin/sh
# run.sh [SECONDS] - builds every fuzz target with libFuzzer + ASan + UBSan
# and runs each for SECONDS (default 60) on a copy of its seed corpus.
#
# Needs clang with the libFuzzer runtime (Debian: clang-14, libclang-rt-14-dev),
# protoc-c, and the protobuf-c and zlib development files.  Builds from the
# source files directly, so it needs no meson build directory.
#
# Prints "target execs crashes" per target and keeps everything (binaries,
# grown corpora, crash-*/leak-*/timeout-*/oom-* artifacts, logs) under
# $FUZZ_WORK, by default a fresh directory in /tmp.  Exits 1 if any target
# crashed.  See README.md for turning a crash into a regression test.
set -eu

SECONDS_PER_TARGET=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${CC:-clang}
WORK=${FUZZ_WORK:-$(mktemp -d /tmp/tracemap-fuzz.XXXXXX)}
TARGETS=${FUZZ_TARGETS:-"otlp_proto otlp_json span_record gzip jaeger xray zipkin jaeger_udp query_params http config"}
# FUZZ_SEED makes a run repeatable (the short run in the test suite sets it)
SEED_ARG=${FUZZ_SEED:+-seed=$FUZZ_SEED}

mkdir -p "$WORK/gen"
protoc-c --proto_path="$ROOT/server/proto" --c_out="$WORK/gen" \
	"$ROOT"/server/proto/*.proto
# what meson's configure_file writes; server/ includes it
echo '#define TRACEMAP_VERSION "fuzz"' >"$WORK/gen/tracemap_version.h"

CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	-I$ROOT/server -I$ROOT/storage -I$ROOT/analysis -I$ROOT/web -I$WORK/gen
	$(pkg-config --cflags libgvc)"
STORAGE="$ROOT/storage/arena.c $ROOT/storage/span_codec.c $ROOT/storage/batch.c $ROOT/storage/search_hash.c"

sources() {
	case $1 in
	otlp_proto)  echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_otlp.c $ROOT/server/otlp_wire.c $ROOT/server/pb_arena.c $WORK/gen/*.pb-c.c" ;;
	otlp_json)   echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_otlp_json.c $ROOT/server/json_reader.c" ;;
	jaeger)      echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_jaeger.c $ROOT/server/thrift.c" ;;
	xray)        echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_xray.c $ROOT/server/json.c" ;;
	zipkin)      echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_zipkin.c $ROOT/server/ingest_zipkin_json.c $ROOT/server/ingest_zipkin_proto.c $ROOT/server/pb_arena.c $ROOT/server/ingest_zipkin_v1.c $WORK/gen/zipkin.pb-c.c" ;;
	jaeger_udp)  echo "$STORAGE $ROOT/server/ingest.c $ROOT/server/ingest_jaeger.c $ROOT/server/ingest_jaeger_udp.c $ROOT/server/thrift.c" ;;
	span_record) echo "$STORAGE" ;;
	gzip)        echo "$STORAGE $ROOT/server/gzip.c" ;;
	query_params) echo "$STORAGE $ROOT/server/query_params.c $ROOT/server/json_reader.c" ;;
	config)      echo "$STORAGE $ROOT/server/config.c $ROOT/server/config_print.c $ROOT/server/query_params.c $ROOT/server/json_reader.c $ROOT/server/log.c" ;;
	# the whole server but main(): the real thing, in process
	http)        echo "$HERE/fuzz_http_server.c $ROOT/storage/*.c $ROOT/analysis/*.c $ROOT/web/*.c $(ls "$ROOT"/server/*.c | grep -v /main.c) $WORK/gen/*.pb-c.c" ;;
	*)           echo "run.sh: unknown target $1" >&2; exit 2 ;;
	esac
}

libs() {
	case $1 in
	http) echo "$(pkg-config --libs libmicrohttpd lmdb liblz4 libgvc libcgraph) -lm -lpthread" ;;
	esac
}

failed=0
printf '%-14s %12s %8s\n' target execs crashes
for t in $TARGETS; do
	bin="$WORK/fuzz_$t"
	# shellcheck disable=SC2046,SC2086  # word splitting of the lists is wanted
	$CC $CFLAGS -o "$bin" "$HERE/fuzz_$t.c" $(sources "$t") -lprotobuf-c -lz -ljansson \
		$(libs "$t") >"$WORK/build_$t.log" 2>&1 || {
		echo "run.sh: building fuzz_$t failed, see $WORK/build_$t.log" >&2
		exit 2
	}
	corpus="$WORK/corpus_$t"
	artifacts="$WORK/artifacts_$t"
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	cp "$HERE/corpus/$t/"* "$corpus/"
	# -rss_limit_mb bounds memory per input; gzip's cap is 1 MiB, the others
	# are bounded by their arenas.  A crash ends the run for that target.
	dict=
	[ -f "$HERE/$t.dict" ] && dict="-dict=$HERE/$t.dict"
	# TMPDIR: where fuzz_http keeps its store (removed at exit, left behind
	# only by a crash)
	# shellcheck disable=SC2086  # SEED_ARG and dict are empty or one word
	TMPDIR="$WORK" "$bin" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 $SEED_ARG $dict \
		-timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$artifacts/" "$corpus" >"$WORK/fuzz_$t.log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/fuzz_$t.log" | tail -n 1)
	crashes=$(find "$artifacts" -type f | wc -l)
	printf '%-14s %12s %8s\n' "$t" "${execs:-?}" "$crashes"
	if [ "$crashes" -gt 0 ] || [ -z "$execs" ]; then
		failed=1
		find "$artifacts" -type f -exec echo "  artifact: {}" \;
		echo "  log: $WORK/fuzz_$t.log"
	fi
done
echo "work directory: $WORK"
exit $failed
