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
#include "ingest_zipkin.h"

#define FUZZ_NAME "fuzz_zipkin"
#include "fuzz_decoder.h"

static void zipkin_rules(const struct tm_batch *b, size_t i, const struct tm_span *span)
{
	(void)b;
	(void)i;
	require(span->end_ns >= span->start_ns, "end not before start");
	require(span->kind >= TM_KIND_INTERNAL && span->kind <= TM_KIND_CONSUMER, "kind is known");
	require(span->n_links == 0, "Zipkin has no links");
}

static void check_blobs(const struct tm_blob *blobs, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n && j < i + 64; j++)
			require(blobs[i].len != blobs[j].len ||
				memcmp(blobs[i].data, blobs[j].data, blobs[i].len) != 0, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const tm_ingest_decode_fn decoders[3] = {
		tm_ingest_zipkin_v2_json, tm_ingest_zipkin_proto, tm_ingest_zipkin_v1_json,
	};
	if (size < 1)
		return 0;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	if (fuzz_decode(decoders[data[0] % 3], data + 1, size - 1, &arena, &batch, &report) == 0) {
		require(report.accepted == batch.n_spans, "accepted == spans in the batch");
		fuzz_check_records(&batch, &arena, zipkin_rules);
		check_blobs(batch.resources, batch.n_resources, "resources stored once");
		check_blobs(batch.scopes, batch.n_scopes, "scopes stored once");
	}
	tm_arena_clear(&arena);
	return 0;
}
