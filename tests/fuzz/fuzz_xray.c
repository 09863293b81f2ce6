/* fuzz_xray.c - X-Ray daemon datagrams of any shape.
 *
 * Decodes the input with tm_ingest_xray_datagram() into a fresh arena with
 * the UDP listener's limit, then reads every record of the batch back.
 * Beyond "no crash", it aborts when an invariant breaks: the result is 0,
 * -EBADMSG or -E2BIG with a message, or -ENOMEM; a refusal counts nothing;
 * a datagram taken counts its top document (stored, or skipped while in
 * progress) and at most that many spans; one resource and one scope; every
 * span of the one trace, all but the first with a parent; every record we
 * encoded decodes again, and each span record re-encodes to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_xray.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_xray: invariant broken: %s\n", what);
		abort();
	}
}

static void check_span_record(const struct tm_batch *b, size_t i, struct tm_arena *arena,
			      struct tm_buf *again)
{
	const struct tm_batch_span *bs = &b->spans[i];
	struct tm_span span;
	memcpy(span.trace_id, bs->trace_id, TM_TRACE_ID_LEN);
	require(tm_span_decode(bs->rec, bs->rec_len, arena, &span) == 0, "span record decodes");
	require(memcmp(bs->trace_id, b->spans[0].trace_id, TM_TRACE_ID_LEN) == 0,
		"one datagram, one trace");
	require(!tm_id_is_zero(span.trace_id, TM_TRACE_ID_LEN), "trace_id not zero");
	require(!tm_id_is_zero(span.span_id, TM_SPAN_ID_LEN), "span_id not zero");
	require(span.start_ns == bs->start_ns && span.end_ns == bs->end_ns, "times match");
	require(span.start_ns % 1000 == 0 && span.end_ns % 1000 == 0, "times in whole µs");
	require(bs->is_root == !span.has_parent, "is_root matches");
	require(i == 0 || span.has_parent, "subsegments have a parent");
	require(tm_attrs_get_str(&span.attrs, "aws.xray.trace_id") != NULL,
		"the X-Ray trace id is kept");
	again->len = 0;
	tm_span_encode(again, &span);
	require(!again->failed && again->len == bs->rec_len &&
		memcmp(again->data, bs->rec, bs->rec_len) == 0, "span record re-encodes the same");
}

static void check_batch(const struct tm_batch *b, const struct tm_ingest_report *report,
			struct tm_arena *arena)
{
	require(report->accepted >= 1, "a datagram taken counts its top document");
	require(report->accepted >= b->n_spans, "accepted >= spans in the batch");
	require(!report->rejected || report->message[0], "a rejection says why");
	require(b->n_resources == 1 && b->n_scopes == 1, "one resource and one scope");
	struct tm_buf again;
	tm_buf_init(&again);
	for (size_t i = 0; i < b->n_spans; i++) {
		require(b->spans[i].resource == 0 && b->spans[i].scope == 0,
			"span refers to the resource and scope of the batch");
		check_span_record(b, i, arena, &again);
	}
	tm_buf_free(&again);
	struct tm_resource res;
	struct tm_scope scope;
	require(tm_resource_decode(b->resources[0].data, b->resources[0].len, arena, &res) == 0,
		"resource record decodes");
	require(tm_scope_decode(b->scopes[0].data, b->scopes[0].len, arena, &scope) == 0,
		"scope record decodes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	/* the UDP listener's limit (udp.c): 16 times the datagram plus 1 MiB */
	tm_arena_init(&arena, 16 * size + (1u << 20));
	int rc = tm_ingest_xray_datagram(data, size, &arena, &batch, &report);
	require(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM,
		"rc is 0, -EBADMSG, -E2BIG or -ENOMEM");
	require(memchr(report.message, '\0', sizeof(report.message)) != NULL, "message ends");
	if (rc == -EBADMSG || rc == -E2BIG)
		require(report.message[0] != '\0', "a refusal says why");
	if (rc)
		require(report.accepted == 0 && report.rejected == 0, "a refusal counts nothing");
	if (size > (64u << 10))
		require(rc == -EBADMSG, "over 64 KiB is refused");
	if (rc == 0)
		check_batch(&batch, &report, &arena);
	tm_arena_clear(&arena);
	return 0;
}
