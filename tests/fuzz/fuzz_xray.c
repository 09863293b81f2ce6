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
#include "ingest_xray.h"

#define FUZZ_NAME "fuzz_xray"
#include "fuzz_decoder.h"

static void xray_rules(const struct tm_batch *b, size_t i, const struct tm_span *span)
{
	require(b->spans[i].resource == 0 && b->spans[i].scope == 0,
		"span refers to the resource and scope of the batch");
	require(memcmp(b->spans[i].trace_id, b->spans[0].trace_id, TM_TRACE_ID_LEN) == 0,
		"one datagram, one trace");
	require(span->start_ns % 1000 == 0 && span->end_ns % 1000 == 0, "times in whole µs");
	require(i == 0 || span->has_parent, "subsegments have a parent");
	require(tm_attrs_get_str(&span->attrs, "aws.xray.trace_id") != NULL,
		"the X-Ray trace id is kept");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	int rc = fuzz_decode(tm_ingest_xray_datagram, data, size, &arena, &batch, &report);
	if (rc)
		require(report.accepted == 0 && report.rejected == 0, "a refusal counts nothing");
	if (size > (64u << 10))
		require(rc == -EBADMSG, "over 64 KiB is refused");
	if (rc == 0) {
		require(report.accepted >= 1, "a datagram taken counts its top document");
		require(report.accepted >= batch.n_spans, "accepted >= spans in the batch");
		require(batch.n_resources == 1 && batch.n_scopes == 1, "one resource and one scope");
		fuzz_check_records(&batch, &arena, xray_rules);
	}
	tm_arena_clear(&arena);
	return 0;
}
