/* fuzz_decoder.h - what the fuzz targets of the span decoders share.
 *
 * A target defines FUZZ_NAME (a string) before including this, then calls
 * fuzz_decode() and, for an accepted body, fuzz_check_records() with a hook
 * of its own format's rules.  Beyond "no crash", a broken invariant aborts
 * (libFuzzer reports it like a crash): the result is 0, -EBADMSG or -E2BIG
 * with a message, or -ENOMEM; a rejection says why; every span, resource
 * and scope record of the batch decodes again and each span record
 * re-encodes to the same bytes. */
#ifndef TM_FUZZ_DECODER_H
#define TM_FUZZ_DECODER_H

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

/* a target's rules for span i of the batch, decoded as span */
typedef void (*fuzz_span_rules_fn)(const struct tm_batch *b, size_t i,
				   const struct tm_span *span);

/* decodes with the server's arena limit (ingest_http.c and udp.c: 16 times
 * the body plus 1 MiB) and checks the answer; the caller clears the arena */
static inline int fuzz_decode(tm_ingest_decode_fn decode, const uint8_t *data, size_t size,
		       struct tm_arena *arena, struct tm_batch *batch,
		       struct tm_ingest_report *report)
{
	tm_arena_init(arena, 16 * size + (1u << 20));
	int rc = decode(data, size, arena, batch, report);
	require(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM,
		"rc is 0, -EBADMSG, -E2BIG or -ENOMEM");
	require(memchr(report->message, '\0', sizeof(report->message)) != NULL, "message ends");
	if (rc == -EBADMSG || rc == -E2BIG)
		require(report->message[0] != '\0', "a refusal says why");
	if (rc == 0)
		require(!report->rejected || report->message[0], "a rejection says why");
	return rc;
}

static void check_span_record(const struct tm_batch *b, size_t i, struct tm_arena *arena,
			      struct tm_buf *again, fuzz_span_rules_fn rules)
{
	const struct tm_batch_span *bs = &b->spans[i];
	require(bs->resource < b->n_resources && bs->scope < b->n_scopes,
		"span refers to a resource and scope of the batch");
	struct tm_span span;
	memcpy(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN);
	require(tm_span_decode(bs->rec, bs->rec_len, arena, &span) == 0, "span record decodes");
	require(memcmp(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN) == 0, "trace_id kept");
	require(!tm_id_is_zero(span.trace_id, TM_TRACE_ID_LEN), "trace_id not zero");
	require(!tm_id_is_zero(span.span_id, TM_SPAN_ID_LEN), "span_id not zero");
	require(span.start_ns == bs->start_ns && span.end_ns == bs->end_ns, "times match");
	require(bs->is_root == !span.has_parent, "is_root matches");
	if (rules)
		rules(b, i, &span);
	again->len = 0;
	tm_span_encode(again, &span);
	require(!again->failed && again->len == bs->rec_len &&
		memcmp(again->data, bs->rec, bs->rec_len) == 0, "span record re-encodes the same");
}

/* every record of an accepted batch; rules may be NULL */
static inline void fuzz_check_records(const struct tm_batch *b, struct tm_arena *arena,
			       fuzz_span_rules_fn rules)
{
	struct tm_buf again;
	tm_buf_init(&again);
	for (size_t i = 0; i < b->n_spans; i++)
		check_span_record(b, i, arena, &again, rules);
	tm_buf_free(&again);
	for (size_t i = 0; i < b->n_resources; i++) {
		struct tm_resource res;
		require(tm_resource_decode(b->resources[i].data, b->resources[i].len, arena,
					   &res) == 0, "resource record decodes");
	}
	for (size_t i = 0; i < b->n_scopes; i++) {
		struct tm_scope scope;
		require(tm_scope_decode(b->scopes[i].data, b->scopes[i].len, arena, &scope) == 0,
			"scope record decodes");
	}
}

/* the whole target for a decoder with no rules of its own */
static inline int fuzz_decoder_generic(tm_ingest_decode_fn decode, const uint8_t *data, size_t size)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	if (fuzz_decode(decode, data, size, &arena, &batch, &report) == 0) {
		require(report.accepted == batch.n_spans, "accepted == spans in the batch");
		fuzz_check_records(&batch, &arena, NULL);
	}
	tm_arena_clear(&arena);
	return 0;
}

#endif
