/* fuzz_span_record.c - the record decoders on arbitrary bytes.
 *
 * Records come from our own encoder, but a damaged store (or a bug) can hand
 * the decoders anything, so each of tm_span_decode, tm_resource_decode and
 * tm_scope_decode must refuse garbage cleanly.  When bytes do decode, the
 * result re-encodes to a record that decodes and re-encodes to itself. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_span_record: invariant broken: %s\n", what);
		abort();
	}
}

static void require_same(const struct tm_buf *a, const struct tm_buf *b, const char *what)
{
	require(!a->failed && !b->failed && a->len == b->len &&
		(a->len == 0 || memcmp(a->data, b->data, a->len) == 0), what);
}

static void fuzz_span(const uint8_t *data, size_t size, struct tm_arena *arena)
{
	struct tm_span span, span2;
	memset(span.trace_id, 0xab, TM_TRACE_ID_LEN);
	int rc = tm_span_decode(data, size, arena, &span);
	require(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "span: rc");
	if (rc)
		return;
	struct tm_buf once, twice;
	tm_buf_init(&once);
	tm_buf_init(&twice);
	tm_span_encode(&once, &span);
	memset(span2.trace_id, 0xab, TM_TRACE_ID_LEN);
	require(tm_span_decode(once.data, once.len, arena, &span2) == 0, "span: re-decodes");
	tm_span_encode(&twice, &span2);
	require_same(&once, &twice, "span: stable re-encoding");
	tm_buf_free(&once);
	tm_buf_free(&twice);
}

static void fuzz_resource(const uint8_t *data, size_t size, struct tm_arena *arena)
{
	struct tm_resource res, res2;
	int rc = tm_resource_decode(data, size, arena, &res);
	require(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "resource: rc");
	if (rc)
		return;
	struct tm_buf once, twice;
	tm_buf_init(&once);
	tm_buf_init(&twice);
	tm_resource_encode(&once, &res);
	require(tm_resource_decode(once.data, once.len, arena, &res2) == 0, "resource: re-decodes");
	tm_resource_encode(&twice, &res2);
	require_same(&once, &twice, "resource: stable re-encoding");
	tm_attrs_get_str(&res.attrs, "service.name");
	tm_buf_free(&once);
	tm_buf_free(&twice);
}

static void fuzz_scope(const uint8_t *data, size_t size, struct tm_arena *arena)
{
	struct tm_scope scope, scope2;
	int rc = tm_scope_decode(data, size, arena, &scope);
	require(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "scope: rc");
	if (rc)
		return;
	struct tm_buf once, twice;
	tm_buf_init(&once);
	tm_buf_init(&twice);
	tm_scope_encode(&once, &scope);
	require(tm_scope_decode(once.data, once.len, arena, &scope2) == 0, "scope: re-decodes");
	tm_scope_encode(&twice, &scope2);
	require_same(&once, &twice, "scope: stable re-encoding");
	tm_buf_free(&once);
	tm_buf_free(&twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* each decoder gets its own copy of exactly size bytes, so a read one
	 * byte past the record is an ASan report, not a silent success */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	struct tm_arena arena;
	tm_arena_init(&arena, 64u << 20);
	fuzz_span(copy, size, &arena);
	fuzz_resource(copy, size, &arena);
	fuzz_scope(copy, size, &arena);
	tm_arena_clear(&arena);
	free(copy);
	return 0;
}
