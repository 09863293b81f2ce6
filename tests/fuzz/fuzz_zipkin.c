/* fuzz_zipkin.c - Zipkin bodies of any shape, for all three decoders.
 *
 * The first byte chooses the decoder (its value mod 3: 0 v2 JSON, 1 v2
 * protobuf, 2 v1 JSON; the seeds use the digits '0', '1', '2'), the rest is
 * the body.  It is decoded into a fresh arena with the server's limit, then
 * every record of the batch is read back.  Beyond "no crash", it aborts when
 * an invariant breaks: the result is 0, -EBADMSG or -E2BIG with a message,
 * or -ENOMEM; counts add up; every record decodes again, each span record
 * re-encodes to the same bytes, and no two resources or scopes of a batch
 * are equal (the decoder stores each once). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_zipkin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_zipkin: invariant broken: %s\n", what);
		abort();
	}
}

static void check_span_record(const struct tm_batch_span *bs, struct tm_arena *arena,
			      struct tm_buf *again)
{
	struct tm_span span;
	memcpy(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN);
	require(tm_span_decode(bs->rec, bs->rec_len, arena, &span) == 0, "span record decodes");
	require(!tm_id_is_zero(span.trace_id, TM_TRACE_ID_LEN), "trace_id not zero");
	require(!tm_id_is_zero(span.span_id, TM_SPAN_ID_LEN), "span_id not zero");
	require(span.start_ns == bs->start_ns && span.end_ns == bs->end_ns, "times match");
	require(span.end_ns >= span.start_ns, "end not before start");
	require(bs->is_root == !span.has_parent, "is_root matches");
	require(span.kind >= TM_KIND_INTERNAL && span.kind <= TM_KIND_CONSUMER, "kind is known");
	require(span.n_links == 0, "Zipkin has no links");
	again->len = 0;
	tm_span_encode(again, &span);
	require(!again->failed && again->len == bs->rec_len &&
		memcmp(again->data, bs->rec, bs->rec_len) == 0, "span record re-encodes the same");
}

static void check_blobs(const struct tm_blob *blobs, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n && j < i + 64; j++)
			require(blobs[i].len != blobs[j].len ||
				memcmp(blobs[i].data, blobs[j].data, blobs[i].len) != 0, what);
}

static void check_batch(const struct tm_batch *batch, const struct tm_ingest_report *report,
			struct tm_arena *arena)
{
	require(report->accepted == batch->n_spans, "accepted == spans in the batch");
	require(!report->rejected || report->message[0], "a rejection says why");
	struct tm_buf again;
	tm_buf_init(&again);
	for (size_t i = 0; i < batch->n_spans; i++) {
		const struct tm_batch_span *bs = &batch->spans[i];
		require(bs->resource < batch->n_resources && bs->scope < batch->n_scopes,
			"span refers to a resource and scope of the batch");
		check_span_record(bs, arena, &again);
	}
	tm_buf_free(&again);
	for (size_t i = 0; i < batch->n_resources; i++) {
		struct tm_resource res;
		require(tm_resource_decode(batch->resources[i].data, batch->resources[i].len, arena,
					   &res) == 0, "resource record decodes");
	}
	for (size_t i = 0; i < batch->n_scopes; i++) {
		struct tm_scope scope;
		require(tm_scope_decode(batch->scopes[i].data, batch->scopes[i].len, arena,
					&scope) == 0, "scope record decodes");
	}
	check_blobs(batch->resources, batch->n_resources, "resources stored once");
	check_blobs(batch->scopes, batch->n_scopes, "scopes stored once");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const tm_ingest_decode_fn decoders[3] = {
		tm_ingest_zipkin_v2_json, tm_ingest_zipkin_proto, tm_ingest_zipkin_v1_json,
	};
	if (size < 1)
		return 0;
	tm_ingest_decode_fn decode = decoders[data[0] % 3];
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	/* the server's limit (ingest_http.c): 16 times the body plus 1 MiB */
	tm_arena_init(&arena, 16 * (size - 1) + (1u << 20));
	int rc = decode(data + 1, size - 1, &arena, &batch, &report);
	require(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM,
		"rc is 0, -EBADMSG, -E2BIG or -ENOMEM");
	require(memchr(report.message, '\0', sizeof(report.message)) != NULL, "message ends");
	if (rc == -EBADMSG || rc == -E2BIG)
		require(report.message[0] != '\0', "a refusal says why");
	if (rc == 0)
		check_batch(&batch, &report, &arena);
	tm_arena_clear(&arena);
	return 0;
}
