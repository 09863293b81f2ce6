/* fuzz_decoder.h - the body of a fuzz target for any span decoder.
 *
 * A target defines FUZZ_NAME (a string) and FUZZ_DECODE (a function with
 * the tm_ingest_decode_fn signature of server/ingest.h), then includes this.
 * It decodes the input into a fresh arena with the server's limit and reads
 * every record of the batch back.  Beyond "no crash", it aborts when an
 * invariant breaks: the result is 0, -EBADMSG or -E2BIG with a message, or
 * -ENOMEM; counts add up; every record decodes again, and each span record
 * re-encodes to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "%s: invariant broken: %s\n", FUZZ_NAME, what);
		abort();
	}
}

static void check_span_record(const struct tm_batch_span *bs, struct tm_arena *arena,
			      struct tm_buf *again)
{
	struct tm_span span;
	memcpy(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN);
	require(tm_span_decode(bs->rec, bs->rec_len, arena, &span) == 0, "span record decodes");
	require(memcmp(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN) == 0, "trace_id kept");
	require(!tm_id_is_zero(span.trace_id, TM_TRACE_ID_LEN), "trace_id not zero");
	require(!tm_id_is_zero(span.span_id, TM_SPAN_ID_LEN), "span_id not zero");
	require(span.start_ns == bs->start_ns && span.end_ns == bs->end_ns, "times match");
	require(bs->is_root == !span.has_parent, "is_root matches");
	again->len = 0;
	tm_span_encode(again, &span);
	require(!again->failed && again->len == bs->rec_len &&
		memcmp(again->data, bs->rec, bs->rec_len) == 0, "span record re-encodes the same");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	/* the server's limit (ingest_http.c): 16 times the body plus 1 MiB */
	tm_arena_init(&arena, 16 * size + (1u << 20));
	int rc = FUZZ_DECODE(data, size, &arena, &batch, &report);
	require(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM,
		"rc is 0, -EBADMSG, -E2BIG or -ENOMEM");
	require(memchr(report.message, '\0', sizeof(report.message)) != NULL, "message ends");
	if (rc == -EBADMSG || rc == -E2BIG)
		require(report.message[0] != '\0', "a refusal says why");
	if (rc == 0) {
		require(report.accepted == batch.n_spans, "accepted == spans in the batch");
		require(!report.rejected || report.message[0], "a rejection says why");
		struct tm_buf again;
		tm_buf_init(&again);
		for (size_t i = 0; i < batch.n_spans; i++) {
			const struct tm_batch_span *bs = &batch.spans[i];
			require(bs->resource < batch.n_resources && bs->scope < batch.n_scopes,
				"span refers to a resource and scope of the batch");
			check_span_record(bs, &arena, &again);
		}
		for (size_t i = 0; i < batch.n_resources; i++) {
			struct tm_resource res;
			require(tm_resource_decode(batch.resources[i].data, batch.resources[i].len,
						   &arena, &res) == 0, "resource record decodes");
		}
		for (size_t i = 0; i < batch.n_scopes; i++) {
			struct tm_scope scope;
			require(tm_scope_decode(batch.scopes[i].data, batch.scopes[i].len, &arena,
						&scope) == 0, "scope record decodes");
		}
		tm_buf_free(&again);
	}
	tm_arena_clear(&arena);
	return 0;
}
