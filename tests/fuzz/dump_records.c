/* dump_records.c - writes the span, resource and scope records that OTLP
 * protobuf bodies decode to, as seeds for fuzz_span_record:
 *   dump_records BODY.pb OUT_PREFIX   ->  OUT_PREFIX{span,resource,scope}_N.rec
 * Build (from a meson build directory `build`):
 *   cc -D_GNU_SOURCE -Iserver -Istorage -Ibuild/server/proto tests/fuzz/dump_records.c \
 *      build/server/libserver_core.a build/web/libweb.a build/analysis/libanalysis.a \
 *      build/storage/libstorage.a build/server/proto/libotlp_proto.a \
 *      $(pkg-config --libs libprotobuf-c liblz4 lmdb) -o /tmp/dump_records */
#include <stdio.h>
#include <stdlib.h>

#include "ingest_otlp.h"

static void write_rec(const char *prefix, const char *what, size_t i, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s_%zu.rec", prefix, what, i);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s BODY.pb OUT_PREFIX\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	static char body[1 << 22];
	size_t len = f ? fread(body, 1, sizeof(body), f) : 0;
	if (!f || ferror(f)) {
		perror(argv[1]);
		return 1;
	}
	fclose(f);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report = { 0 };
	tm_arena_init(&arena, 0);
	tm_batch_init(&batch, &arena);
	int rc = tm_ingest_otlp_proto(body, len, &arena, &batch, &report);
	if (rc) {
		fprintf(stderr, "%s: %d %s\n", argv[1], rc, report.message);
		return 1;
	}
	for (size_t i = 0; i < batch.n_spans; i++)
		write_rec(argv[2], "span", i, batch.spans[i].rec, batch.spans[i].rec_len);
	for (size_t i = 0; i < batch.n_resources; i++)
		write_rec(argv[2], "resource", i, batch.resources[i].data, batch.resources[i].len);
	for (size_t i = 0; i < batch.n_scopes; i++)
		write_rec(argv[2], "scope", i, batch.scopes[i].data, batch.scopes[i].len);
	printf("%zu spans, %zu resources, %zu scopes\n", batch.n_spans, batch.n_resources,
	       batch.n_scopes);
	tm_batch_done(&batch);
	tm_arena_clear(&arena);
	return 0;
}
