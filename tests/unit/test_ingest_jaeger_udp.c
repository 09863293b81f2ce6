/* test_ingest_jaeger_udp.c - Jaeger agent datagrams (Agent.emitBatch,
 * TBinaryProtocol) into batches.
 *
 * argv[1] is tests/data/jaeger, which holds agent_emitbatch.bin: the
 * datagram jaeger-client 3.19's UDP sender really sends for the checkout
 * service of the three-service scenario (captured from a node dgram socket
 * as the agent, running capture_jaeger.mjs's buildJaegerTrace with its fixed
 * IDs and times, the reporter given agentHost/agentPort instead of
 * collectorEndpoint), and agent_emitbatch.golden.json, what it decodes to
 * (TM_UPDATE_GOLDEN=1 rewrites it; review it by eye).  That golden file
 * equals client_checkout.golden.json but for the random client-uuid tag.
 * Then the envelope around that Batch: CALL and ONEWAY, other message
 * types, a header that is not strict, the wrong method, every truncation,
 * bytes after the Batch (a field the args struct may have, garbage, bytes
 * after the message), a batch field missing, twice or of the wrong type;
 * errors and rejections inside the Batch, located in the datagram; -E2BIG.
 * TM_JAEGER_UDP_SEEDS=dir writes the hand-made datagrams there (fuzz seeds). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_jaeger.h"
#include "testutil.h"
#include "thriftwriter.h"
#include "thrift.h"

#define ONEWAY 0x80010004u
#define CALL 0x80010001u
/* i32 version|type, string "emitBatch", i32 seqid, then the field header */
#define CAPTURE_BATCH_AT 24

static const char *data_dir = "tests/data/jaeger";

/*---- writing thrift (the basics are in thriftwriter.h) ----*/

/* the message header of a call of method, seqid 7 */
static void w_header(struct wbuf *w, uint32_t version_type, const char *method)
{
	w_be(w, version_type, 4);
	w_str(w, method);
	w_be(w, 7, 4);
}

/* a whole datagram: header, args { 1: batch }, stop */
static void w_datagram(struct wbuf *w, uint32_t version_type, const char *method,
		       const void *batch, size_t batch_len)
{
	w_header(w, version_type, method);
	w_field(w, TM_THRIFT_STRUCT, 1);
	w_bytes(w, batch, batch_len);
	w_u8(w, 0);
}

/* a Batch of service "svc" with one span per trace ID low half given */
static void w_batch(struct wbuf *w, const int64_t *trace_lows, size_t n)
{
	w_field(w, TM_THRIFT_STRUCT, 1);
	w_field(w, TM_THRIFT_STRING, 1);
	w_str(w, "svc");
	w_u8(w, 0);
	w_field(w, TM_THRIFT_LIST, 2);
	w_u8(w, TM_THRIFT_STRUCT);
	w_be(w, n, 4);
	for (size_t i = 0; i < n; i++) {
		static const struct { uint8_t type; int16_t id; int64_t v; } fields[] = {
			{ TM_THRIFT_I64, 2, 0 }, { TM_THRIFT_I64, 3, 5 }, { TM_THRIFT_I64, 4, 0 },
			{ TM_THRIFT_I32, 7, 1 }, { TM_THRIFT_I64, 8, 1700000000000000 },
			{ TM_THRIFT_I64, 9, 1500 },
		};
		w_field(w, TM_THRIFT_I64, 1);
		w_be(w, (uint64_t)trace_lows[i], 8);
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			w_field(w, fields[f].type, fields[f].id);
			w_be(w, (uint64_t)fields[f].v, fields[f].type == TM_THRIFT_I32 ? 4 : 8);
		}
		w_field(w, TM_THRIFT_STRING, 5);
		w_str(w, "op");
		w_u8(w, 0);
	}
	w_u8(w, 0);
}

/*---- decoding ----*/

struct decoded {
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	int rc;
};

static void decode(struct decoded *d, const void *body, size_t len, size_t max_bytes)
{
	tm_arena_init(&d->arena, max_bytes);
	d->rc = tm_ingest_jaeger_agent_datagram(body, len, &d->arena, &d->batch, &d->report);
}

static void decoded_clear(struct decoded *d)
{
	tm_arena_clear(&d->arena);
}

static int str_eq(struct tm_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len);
}

static uint8_t *read_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(99);
	}
	uint8_t *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	return buf;
}

static void write_seed(const char *name, const struct wbuf *w)
{
	const char *dir = getenv("TM_JAEGER_UDP_SEEDS");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.datagram", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(w->data, 1, w->len, f);
		fclose(f);
	}
}

/* decodes and expects -EBADMSG with want in the message */
static void expect_bad(const void *body, size_t len, const char *want)
{
	struct decoded d;
	decode(&d, body, len, 0);
	CHECK_INT_EQ(d.rc, -EBADMSG);
	CHECK_INT_EQ(d.batch.n_spans, 0);
	if (!strstr(d.report.message, want))
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want, d.report.message);
	CHECK(strstr(d.report.message, want) != NULL);
	decoded_clear(&d);
}

/* the OTLP/JSON of what decodes from body (NULL if it does not): malloc'ed */
static char *dump_of(const void *body, size_t len, int is_datagram)
{
	struct decoded d;
	tm_arena_init(&d.arena, 0);
	d.rc = is_datagram
		? tm_ingest_jaeger_agent_datagram(body, len, &d.arena, &d.batch, &d.report)
		: tm_ingest_jaeger_thrift(body, len, &d.arena, &d.batch, &d.report);
	char *text = d.rc ? NULL : batch_dump_otlp_json(&d.batch);
	decoded_clear(&d);
	return text;
}

/*---- what jaeger-client sends ----*/

static void test_captured_datagram(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	/* the capture is what the brief says jaeger-client sends */
	CHECK(len > CAPTURE_BATCH_AT && !memcmp(dgram, "\x80\x01\x00\x04\x00\x00\x00\x09"
					       "emitBatch", 17));
	struct decoded d;
	decode(&d, dgram, len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 4);
	CHECK_INT_EQ(d.report.rejected, 0);
	CHECK_STR_EQ(d.report.message, "");
	CHECK(d.batch.n_resources == 1 && str_eq(d.batch.services[0], "checkout"));
	char path[512];
	snprintf(path, sizeof(path), "%s/agent_emitbatch.golden.json", data_dir);
	CHECK(batch_matches_golden(&d.batch, path));
	decoded_clear(&d);

	/* the same spans as the Batch alone gives over HTTP */
	char *udp = dump_of(dgram, len, 1);
	char *http = dump_of(dgram + CAPTURE_BATCH_AT, len - CAPTURE_BATCH_AT - 1, 0);
	CHECK(udp && http && !strcmp(udp, http));
	free(udp);
	free(http);
	free(dgram);
}

/* CALL decodes as ONEWAY does; REPLY, EXCEPTION and others are refused */
static void test_message_types(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	char *oneway = dump_of(dgram, len, 1);
	dgram[3] = 1;   /* CALL */
	char *call = dump_of(dgram, len, 1);
	CHECK(oneway && call && !strcmp(oneway, call));
	dgram[3] = 2;
	expect_bad(dgram, len, "message type 2 is neither CALL (1) nor ONEWAY (4) at byte offset 3");
	dgram[3] = 3;
	expect_bad(dgram, len, "message type 3 is neither CALL (1) nor ONEWAY (4)");
	dgram[3] = 0;
	expect_bad(dgram, len, "message type 0 is neither");
	dgram[3] = 4;
	dgram[1] = 2;   /* version 2 */
	expect_bad(dgram, len, "not a strict TBinaryProtocol message header (0x80020004, expected "
		   "0x8001000N) at byte offset 0");
	free(oneway);
	free(call);
	free(dgram);

	/* the old, non-strict header: the name first */
	static const uint8_t batch[] = { 0 };
	struct wbuf w = { 0 };
	w_str(&w, "emitBatch");
	w_u8(&w, 4);
	w_be(&w, 0, 4);
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_bytes(&w, batch, sizeof(batch));
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "not a strict TBinaryProtocol message header (0x00000009");
	w_free(&w);
}

static void test_wrong_method(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	struct wbuf w = { 0 };
	w_datagram(&w, ONEWAY, "emitZipkinBatch", dgram + CAPTURE_BATCH_AT,
		   len - CAPTURE_BATCH_AT - 1);
	write_seed("bad_emit_zipkin_batch", &w);
	expect_bad(w.data, w.len, "not a TBinaryProtocol Agent.emitBatch message: method "
		   "\"emitZipkinBatch\" is not emitBatch at byte offset 4");
	w_free(&w);
	w_datagram(&w, ONEWAY, "emitbatch", dgram + CAPTURE_BATCH_AT, len - CAPTURE_BATCH_AT - 1);
	expect_bad(w.data, w.len, "method \"emitbatch\" is not emitBatch");
	w_free(&w);
	w_datagram(&w, ONEWAY, "", dgram + CAPTURE_BATCH_AT, len - CAPTURE_BATCH_AT - 1);
	expect_bad(w.data, w.len, "method \"\" is not emitBatch");
	w_free(&w);
	free(dgram);
}

/* every prefix of the capture is refused, naming an offset */
static void test_truncated(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	size_t bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan/valgrind see overreads */
		memcpy(copy, dgram, cut);
		struct decoded d;
		decode(&d, copy, cut, 0);
		if (d.rc != -EBADMSG || !strstr(d.report.message, "byte offset")) {
			if (!bad++)
				fprintf(stderr, "prefix %zu: rc %d, %s\n", cut, d.rc, d.report.message);
		}
		decoded_clear(&d);
		free(copy);
	}
	CHECK_INT_EQ(bad, 0);
	expect_bad(dgram, 0, "i32 needs 4 bytes, 0 left at byte offset 0");
	expect_bad(dgram, 2, "i32 needs 4 bytes, 2 left at byte offset 0");
	expect_bad(dgram, 10, "string length 9 exceeds the 2 bytes left at byte offset 4");
	expect_bad(dgram, 19, "i32 needs 4 bytes, 2 left at byte offset 17");
	expect_bad(dgram, 21, "field header needs 1 bytes, 0 left at byte offset 21");
	expect_bad(dgram, len - 1, "at byte offset");
	free(dgram);
}

/* what may, and what may not, follow the Batch */
static void test_after_the_batch(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	const uint8_t *batch = dgram + CAPTURE_BATCH_AT;
	size_t batch_len = len - CAPTURE_BATCH_AT - 1;
	char *want = dump_of(dgram, len, 1);
	struct wbuf w = { 0 };

	/* an argument emitBatch does not have: skipped, as thrift allows;
	 * the Batch decoder sees only the Batch */
	w_header(&w, ONEWAY, "emitBatch");
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_bytes(&w, batch, batch_len);
	w_field(&w, TM_THRIFT_STRING, 2);
	w_str(&w, "a later argument");
	w_u8(&w, 0);
	write_seed("unknown_argument", &w);
	char *got = dump_of(w.data, w.len, 1);
	CHECK(want && got && !strcmp(want, got));
	free(got);
	w_free(&w);

	/* garbage between the Batch and the args' stop byte */
	w_header(&w, ONEWAY, "emitBatch");
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_bytes(&w, batch, batch_len);
	w_bytes(&w, "garbage", 7);
	write_seed("bad_garbage_after_batch", &w);
	char msg[128];
	snprintf(msg, sizeof(msg), "field type 103 is not a thrift type at byte offset %zu",
		 CAPTURE_BATCH_AT + batch_len);
	expect_bad(w.data, w.len, msg);
	w_free(&w);

	/* bytes after the whole message */
	w_bytes(&w, dgram, len);
	w_bytes(&w, "\0\0\0", 3);
	write_seed("bad_bytes_after_message", &w);
	snprintf(msg, sizeof(msg), "3 bytes after the end of the emitBatch message at byte "
		 "offset %zu", len);
	expect_bad(w.data, w.len, msg);
	w_free(&w);

	/* a second message in the same datagram */
	w_bytes(&w, dgram, len);
	w_bytes(&w, dgram, len);
	expect_bad(w.data, w.len, "bytes after the end of the emitBatch message");
	w_free(&w);
	free(want);
	free(dgram);
}

/* the batch argument missing, twice, or not a struct */
static void test_batch_argument(void)
{
	struct wbuf w = { 0 };
	w_header(&w, ONEWAY, "emitBatch");
	w_u8(&w, 0);
	write_seed("bad_no_batch", &w);
	expect_bad(w.data, w.len, "emitBatch without its batch (field 1) at byte offset 22");
	w_free(&w);

	static const int64_t one[] = { 1 };
	struct wbuf b = { 0 };
	w_batch(&b, one, 1);
	w_header(&w, ONEWAY, "emitBatch");
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_bytes(&w, b.data, b.len);
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_bytes(&w, b.data, b.len);
	w_u8(&w, 0);
	char msg[128];
	snprintf(msg, sizeof(msg), "emitBatch's batch (1) appears twice at byte offset %zu",
		 (size_t)CAPTURE_BATCH_AT + b.len);
	expect_bad(w.data, w.len, msg);
	w_free(&w);

	w_header(&w, ONEWAY, "emitBatch");
	w_field(&w, TM_THRIFT_STRING, 1);
	w_str(&w, "svc");
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "emitBatch's batch (1) is string, expected struct at byte "
		   "offset 21");
	w_free(&w);

	/* the Batch is skipped with the generic reader before it is decoded */
	w_header(&w, ONEWAY, "emitBatch");
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_field(&w, TM_THRIFT_STRING, 1);
	w_be(&w, 0x7fffffff, 4);
	w_bytes(&w, "abc", 3);
	write_seed("bad_huge_string", &w);
	expect_bad(w.data, w.len, "string length 2147483647 exceeds the 3 bytes left at byte "
		   "offset 27");
	w_free(&w);
	w_free(&b);
}

/* problems the Batch decoder finds: located in the datagram */
static void test_inside_the_batch(void)
{
	struct wbuf w = { 0 };
	static const uint8_t no_process[] = { TM_THRIFT_LIST, 0, 2, TM_THRIFT_STRUCT, 0, 0, 0, 0, 0 };
	w_datagram(&w, ONEWAY, "emitBatch", no_process, sizeof(no_process));
	write_seed("bad_batch_without_process", &w);
	expect_bad(w.data, w.len, "Batch at datagram byte 24: not a TBinaryProtocol jaeger.thrift "
		   "Batch: Batch without its process (field 1) at byte offset 9");
	w_free(&w);

	/* one span of trace 0 is rejected, the other kept */
	static const int64_t lows[] = { 0, 42 };
	struct wbuf b = { 0 };
	w_batch(&b, lows, 2);
	w_datagram(&w, CALL, "emitBatch", b.data, b.len);
	write_seed("one_rejected", &w);
	struct decoded d;
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 1);
	CHECK_INT_EQ(d.report.rejected, 1);
	CHECK_INT_EQ(d.batch.n_spans, 1);
	CHECK(d.batch.n_spans == 1 && d.batch.spans[0].trace_id[15] == 42);
	CHECK_STR_EQ(d.report.message, "Batch at datagram byte 24: Batch.spans[0]: trace ID is 0 "
		     "(traceIdHigh and traceIdLow) (byte offset 22)");
	decoded_clear(&d);
	w_free(&w);
	w_free(&b);
}

/* a small datagram that needs a lot of memory is too big, not malformed */
static void test_arena_limit(void)
{
	size_t len;
	uint8_t *dgram = read_file("agent_emitbatch.bin", &len);
	struct decoded d;
	decode(&d, dgram, len, 4096);
	CHECK_INT_EQ(d.rc, -E2BIG);
	CHECK_STR_EQ(d.report.message, "decoding this body needs more than 4096 bytes of memory; "
		     "send smaller batches");
	decoded_clear(&d);
	free(dgram);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		data_dir = argv[1];
	test_captured_datagram();
	test_message_types();
	test_wrong_method();
	test_truncated();
	test_after_the_batch();
	test_batch_argument();
	test_inside_the_batch();
	test_arena_limit();
	return TEST_DONE();
}
