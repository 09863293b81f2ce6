/* fuzz_jaeger.c - jaeger.thrift Batch bodies (TBinaryProtocol) of any shape.
 *
 * Decodes the input with tm_ingest_jaeger_thrift() into a fresh arena with
 * the server's limit, and skips it with tm_thrift_skip() as one struct.
 * Beyond "no crash", it aborts when an invariant breaks: the result is 0,
 * -EBADMSG (with a message naming a byte offset), -E2BIG (with a message) or
 * -ENOMEM; a body the generic reader refuses is never accepted, and one that
 * is accepted is exactly one struct; counts add up; every record decodes
 * again, each span record re-encodes to the same bytes, and what a Jaeger
 * span cannot carry is absent (flags beyond sampled, negative durations). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_jaeger.h"
#include "thrift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_jaeger: invariant broken: %s\n", what);
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
	require(span.end_ns >= span.start_ns, "no negative duration");
	require(span.start_ns % 1000 == 0 && span.end_ns % 1000 == 0, "times in whole µs");
	require(span.flags <= 1, "flags: the sampled bit only");
	require(span.kind <= TM_KIND_CONSUMER, "kind is a SpanKind");
	require(span.status_code <= TM_STATUS_ERROR, "status is a StatusCode");
	require(bs->is_root == !span.has_parent, "is_root matches");
	require(!span.has_parent || !tm_id_is_zero(span.parent_span_id, TM_SPAN_ID_LEN),
		"a parent is never 0");
	for (size_t i = 0; i < span.n_links; i++)
		require(span.links[i].attrs.n == 1, "a link carries opentracing.ref_type");
	again->len = 0;
	tm_span_encode(again, &span);
	require(!again->failed && again->len == bs->rec_len &&
		memcmp(again->data, bs->rec, bs->rec_len) == 0, "span record re-encodes the same");
}

static void check_batch(const struct tm_batch *batch, const struct tm_ingest_report *report,
			struct tm_arena *arena)
{
	require(report->accepted == batch->n_spans, "accepted == spans in the batch");
	require(!report->rejected || report->message[0], "a rejection says why");
	require(batch->n_resources == 1, "one Batch, one resource");
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_thrift_reader r;
	tm_thrift_reader_init(&r, data, size);
	int skip_rc = tm_thrift_skip(&r, TM_THRIFT_STRUCT);
	require(skip_rc == 0 || skip_rc == -EBADMSG, "skip: 0 or -EBADMSG");
	require(skip_rc == 0 ? r.error[0] == '\0' : strstr(r.error, "at byte offset") != NULL,
		"the reader's error names an offset, and only on failure");
	require(r.pos <= size, "the reader stays inside the buffer");

	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	/* the server's limit (ingest_http.c): 16 times the body plus 1 MiB */
	tm_arena_init(&arena, 16 * size + (1u << 20));
	int rc = tm_ingest_jaeger_thrift(data, size, &arena, &batch, &report);
	require(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM,
		"rc is 0, -EBADMSG, -E2BIG or -ENOMEM");
	require(memchr(report.message, '\0', sizeof(report.message)) != NULL, "message ends");
	if (rc == -EBADMSG)
		require(strstr(report.message, "byte offset") != NULL, "a refusal names the offset");
	if (rc == -E2BIG)
		require(report.message[0] != '\0', "too big says why");
	if (skip_rc != 0)
		require(rc != 0, "what the reader refuses is never accepted");
	if (rc == 0) {
		require(skip_rc == 0 && r.pos == size, "an accepted body is exactly one struct");
		check_batch(&batch, &report, &arena);
	}
	tm_arena_clear(&arena);
	return 0;
}
