/* test_ingest_otlp_json.c - the OTLP/JSON decoder: golden files and bad bodies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_otlp.h"
#include "testutil.h"

static const char *data_dir;

static char *read_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* decodes data/otlp_json/NAME.json and compares with NAME.golden.json */
static void golden(const char *name, size_t accepted, size_t rejected)
{
	char in[128], out[512];
	snprintf(in, sizeof(in), "%s.json", name);
	snprintf(out, sizeof(out), "%s/%s.golden.json", data_dir, name);
	size_t len;
	char *body = read_file(in, &len);
	CHECK(body != NULL);
	if (!body)
		return;
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(tm_ingest_otlp_json(body, len, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(rep.accepted, accepted);
	CHECK_INT_EQ(rep.rejected, rejected);
	CHECK(batch_matches_golden(&batch, out));
	tm_arena_clear(&arena);
}

static void expect_bad(const char *body, const char *message_part)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = tm_ingest_otlp_json(body, strlen(body), &arena, &batch, &rep);
	CHECK_INT_EQ(rc, -EBADMSG);
	if (!strstr(rep.message, message_part)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", rep.message, message_part);
		CHECK(0);
	}
	tm_arena_clear(&arena);
}

#define SPAN_PREFIX "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{"
#define IDS "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\""
#define SPAN_SUFFIX "}]}]}]}"

static void bad_bodies(void)
{
	expect_bad("{\"resourceSpans\":[", "not valid JSON");
	expect_bad("[]", "must be an ExportTraceServiceRequest object");
	expect_bad("{\"resourceSpans\":{}}", "resourceSpans must be an array");
	expect_bad(SPAN_PREFIX "\"traceId\":\"abc\",\"spanId\":\"b7ad6b7169203331\"" SPAN_SUFFIX,
		   "spans[0].traceId must be 32 hex digits");
	expect_bad(SPAN_PREFIX IDS ",\"name\":5" SPAN_SUFFIX, "spans[0].name must be a string");
	expect_bad(SPAN_PREFIX IDS ",\"startTimeUnixNano\":\"soon\"" SPAN_SUFFIX,
		   "startTimeUnixNano must be an integer");
	expect_bad(SPAN_PREFIX IDS ",\"kind\":\"SIDEWAYS\"" SPAN_SUFFIX, "kind must be an enum");
	expect_bad(SPAN_PREFIX IDS ",\"attributes\":[{\"key\":\"b\",\"value\":{\"bytesValue\":\"!!\"}}]"
		   SPAN_SUFFIX, "is not base64");
	expect_bad(SPAN_PREFIX IDS ",\"attributes\":[{\"key\":\"b\",\"value\":{\"boolValue\":1}}]"
		   SPAN_SUFFIX, "boolValue must be true or false");
	/* attribute values nested past 32 levels, as in protobuf */
	char deep[4096];
	size_t n = (size_t)snprintf(deep, sizeof(deep), SPAN_PREFIX IDS ",\"attributes\":[{\"key\":\"d\",\"value\":");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"arrayValue\":{\"values\":[");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{}");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "]}}");
	snprintf(deep + n, sizeof(deep) - n, "}]" SPAN_SUFFIX);
	expect_bad(deep, "nested deeper than 32 levels");
}

static void empty_and_rejected(void)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(tm_ingest_otlp_json("", 0, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 0);
	CHECK_INT_EQ(tm_ingest_otlp_json("{}", 2, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 0);
	const char *zero = SPAN_PREFIX "\"traceId\":\"00000000000000000000000000000000\","
			   "\"spanId\":\"b7ad6b7169203331\"}, {" IDS SPAN_SUFFIX;
	CHECK_INT_EQ(tm_ingest_otlp_json(zero, strlen(zero), &arena, &batch, &rep), 0);
	CHECK_INT_EQ(rep.accepted, 1);
	CHECK_INT_EQ(rep.rejected, 1);
	CHECK(strstr(rep.message, "spans[0]") != NULL);
	tm_arena_clear(&arena);
}

int main(int argc, char **argv)
{
	data_dir = argc > 1 ? argv[1] : "tests/data/otlp_json";
	golden("every_type", 1, 1);
	golden("snake_case", 1, 0);
	golden("legacy_library", 1, 0);
	bad_bodies();
	empty_and_rejected();
	return TEST_DONE();
}
