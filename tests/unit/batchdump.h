/* batchdump.h - a decoded tm_batch as canonical OTLP/JSON text, for the
 * golden-file tests of every decoder: whatever the input format, the batch
 * is shown the way GET /api/v3/traces/{id} would show it.  Header-only, for
 * the unit tests.  Memory: the returned string is malloc'ed; free() it. */
#ifndef TM_BATCHDUMP_H
#define TM_BATCHDUMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "store.h"
#include "trace_json.h"

/* NULL when a record of the batch does not decode (a decoder bug). */
static char *batch_dump_otlp_json(const struct tm_batch *b)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_resource *res = tm_arena_zalloc(&arena, (b->n_resources + 1) * sizeof(*res));
	struct tm_scope *scopes = tm_arena_zalloc(&arena, (b->n_scopes + 1) * sizeof(*scopes));
	struct tm_span *spans = tm_arena_zalloc(&arena, (b->n_spans + 1) * sizeof(*spans));
	int bad = !res || !scopes || !spans;
	for (size_t i = 0; !bad && i < b->n_resources; i++)
		bad = tm_resource_decode(b->resources[i].data, b->resources[i].len, &arena, &res[i]);
	for (size_t i = 0; !bad && i < b->n_scopes; i++)
		bad = tm_scope_decode(b->scopes[i].data, b->scopes[i].len, &arena, &scopes[i]);
	for (size_t i = 0; !bad && i < b->n_spans; i++) {
		const struct tm_batch_span *bs = &b->spans[i];
		memcpy(spans[i].trace_id, bs->trace_id, TM_TRACE_ID_LEN);
		bad = tm_span_decode(bs->rec, bs->rec_len, &arena, &spans[i]);
		spans[i].resource = &res[bs->resource];
		spans[i].scope = &scopes[bs->scope];
	}
	char *text = NULL;
	if (!bad) {
		struct tm_trace t = { .spans = spans, .n_spans = b->n_spans };
		struct tm_buf out;
		tm_buf_init(&out);
		tm_otlpjson_write_traces(&out, &t, 1);
		tm_buf_add(&out, "", 1);
		text = out.failed ? NULL : (char *)out.data;
		if (!text)
			tm_buf_free(&out);
	}
	tm_arena_clear(&arena);
	return text;
}

/* compares the dump with a golden file; with TM_UPDATE_GOLDEN=1 in the
 * environment it writes the file instead.  Returns 1 when equal. */
static int batch_matches_golden(const struct tm_batch *b, const char *golden_path)
{
	char *text = batch_dump_otlp_json(b);
	if (!text) {
		fprintf(stderr, "%s: batch does not decode\n", golden_path);
		return 0;
	}
	int ok = 0;
	if (getenv("TM_UPDATE_GOLDEN")) {
		FILE *f = fopen(golden_path, "w");
		ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
		if (f)
			fclose(f);
	} else {
		FILE *f = fopen(golden_path, "r");
		size_t n = strlen(text);
		char *want = malloc(n + 2);
		size_t got = f && want ? fread(want, 1, n + 2, f) : 0;
		ok = got == n + 1 && !memcmp(want, text, n) && want[n] == '\n';
		if (!ok)
			fprintf(stderr, "%s differs from the decoder's output:\n%s\n", golden_path, text);
		free(want);
		if (f)
			fclose(f);
	}
	free(text);
	return ok;
}

#endif
