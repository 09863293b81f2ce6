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
#include "ingest_jaeger.h"
#include "thrift.h"

#define FUZZ_NAME "fuzz_jaeger"
#include "fuzz_decoder.h"

static void jaeger_rules(const struct tm_batch *b, size_t i, const struct tm_span *span)
{
	(void)b;
	(void)i;
	require(span->end_ns >= span->start_ns, "no negative duration");
	require(span->start_ns % 1000 == 0 && span->end_ns % 1000 == 0, "times in whole µs");
	require(span->flags <= 1, "flags: the sampled bit only");
	require(span->kind <= TM_KIND_CONSUMER, "kind is a SpanKind");
	require(span->status_code <= TM_STATUS_ERROR, "status is a StatusCode");
	require(!span->has_parent || !tm_id_is_zero(span->parent_span_id, TM_SPAN_ID_LEN),
		"a parent is never 0");
	for (size_t l = 0; l < span->n_links; l++)
		require(span->links[l].attrs.n == 1, "a link carries opentracing.ref_type");
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
	int rc = fuzz_decode(tm_ingest_jaeger_thrift, data, size, &arena, &batch, &report);
	if (rc == -EBADMSG)
		require(strstr(report.message, "byte offset") != NULL, "a refusal names the offset");
	if (skip_rc != 0)
		require(rc != 0, "what the reader refuses is never accepted");
	if (rc == 0) {
		require(skip_rc == 0 && r.pos == size, "an accepted body is exactly one struct");
		require(report.accepted == batch.n_spans, "accepted == spans in the batch");
		require(batch.n_resources == 1, "one Batch, one resource");
		fuzz_check_records(&batch, &arena, jaeger_rules);
	}
	tm_arena_clear(&arena);
	return 0;
}
