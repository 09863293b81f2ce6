/* search_hash.h - the hashes and Bloom filters behind attribute search.
 *
 * Every span's attributes (and its events', links', resource's and scope's)
 * are hashed as typed key/value pairs when the span is decoded; the hashes
 * of one service's spans in one stored piece of a trace are folded into a
 * Bloom filter kept in the search index.  A query value arrives as text
 * ("404"), so tm_search_text_hashes() gives every typed form the text could
 * have been stored as, and a piece may match when any of them is present.
 * A filter says "maybe" or "no"; the exact match is always checked on the
 * spans themselves.
 *
 * Threads: pure functions.  Errors: none.  Memory: nothing kept. */
#ifndef TM_SEARCH_HASH_H
#define TM_SEARCH_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

/* 1024 bits, 3 probes: ~2% false positives at 110 items (a few spans with
 * their resource attributes), measured in docs/storage.md. */
#define TM_BLOOM_WORDS 16
#define TM_BLOOM_BYTES (TM_BLOOM_WORDS * 8)

struct tm_bloom {
	uint64_t w[TM_BLOOM_WORDS];
};

void tm_bloom_add(struct tm_bloom *b, uint64_t h);
int tm_bloom_maybe(const struct tm_bloom *b, uint64_t h);
void tm_bloom_or(struct tm_bloom *dst, const struct tm_bloom *src);

/* hash of an attribute key with its typed value; values that have no text
 * form worth indexing (arrays, maps, bytes, empty) hash as "key with any
 * value" so that a query on them is never ruled out. */
uint64_t tm_search_hash_kv(struct tm_str key, const struct tm_value *v);

/* hash of a key alone (Zipkin's bare annotation-query word matches a tag key) */
uint64_t tm_search_hash_key(struct tm_str key);

/* hash of an event name (a bare word matches an annotation) */
uint64_t tm_search_hash_event(struct tm_str name);

/* adds the kv and key hashes of every attribute */
void tm_bloom_add_attrs(struct tm_bloom *b, const struct tm_attrs *attrs);

/* adds what one span contributes: its attributes, its events' names and
 * attributes, its links' attributes. */
void tm_bloom_add_span(struct tm_bloom *b, const struct tm_span *span);

/* the hashes a query pair key=text may have been indexed under (as a
 * string, an integer, a boolean, a double, or "any value"); returns how many
 * were written to out (at most TM_SEARCH_TEXT_HASHES).  A filter may hold
 * the pair when it holds any of them. */
#define TM_SEARCH_TEXT_HASHES 5
size_t tm_search_text_hashes(struct tm_str key, struct tm_str text,
			     uint64_t out[TM_SEARCH_TEXT_HASHES]);

/* 1 when the filter may hold key=text */
int tm_bloom_maybe_text(const struct tm_bloom *b, struct tm_str key, struct tm_str text);

/* parses text as a whole decimal int64 / double / boolean; 0 or -1 */
int tm_text_to_int(struct tm_str text, int64_t *out);
int tm_text_to_double(struct tm_str text, double *out);

#endif
