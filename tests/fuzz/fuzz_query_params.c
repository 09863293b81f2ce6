/* fuzz_query_params.c - the parsers of query-API parameters on any text.
 *
 * The first input byte picks the parser (Go duration, RFC 3339, bounded
 * integer, Jaeger tags JSON, tag=key:value, Zipkin annotationQuery); the
 * rest, cut at its first NUL, is the parameter's text as MHD hands it over.
 * Invariants: the result is 0, -EINVAL or -ENOMEM; every refusal writes a
 * message; a duration is never negative unless the text starts with '-';
 * pairs have keys, and the arena's limit holds. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_query_params: invariant broken: %s\n", what);
		abort();
	}
}

static int parse(unsigned which, const char *text, struct tm_arena *arena, char *err,
		 size_t errlen)
{
	struct tm_qp_pairs pairs = { 0 };
	int64_t i64;
	uint64_t u64;
	int rc;
	switch (which % 6) {
	case 0:
		rc = tm_qp_duration("d", text, &i64, err, errlen);
		require(rc || i64 >= 0 || text[0] == '-', "a negative duration needs a '-'");
		return rc;
	case 1:
		return tm_qp_rfc3339("t", text, &u64, err, errlen);
	case 2:
		rc = tm_qp_int("n", text, -5, 1500, &i64, err, errlen);
		require(rc || (i64 >= -5 && i64 <= 1500), "an integer within its bounds");
		return rc;
	case 3:
		rc = tm_qp_tags_json("tags", text, arena, &pairs, err, errlen);
		break;
	case 4:
		rc = tm_qp_tag_pair("tag", text, arena, &pairs, err, errlen);
		break;
	default:
		rc = tm_qp_annotation_query("annotationQuery", text, arena, &pairs, err, errlen);
		break;
	}
	for (size_t k = 0; !rc && k < pairs.n; k++)
		require(pairs.items[k].key.len > 0 || which % 6 == 3, "pairs have keys");
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	struct tm_arena arena;
	tm_arena_init(&arena, 1u << 20);
	char err[256] = "";
	int rc = parse(data[0], text, &arena, err, sizeof(err));
	require(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "rc is 0, -EINVAL or -ENOMEM");
	require(rc == 0 || err[0], "a refusal says why");
	tm_arena_clear(&arena);
	free(text);
	return 0;
}
