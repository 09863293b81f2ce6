/* query_params.h - the values of query-API parameters, parsed and checked.
 *
 * Pure parsers for what the Jaeger, Jaeger /api/v3 and Zipkin query APIs
 * take in their query strings (docs/query.md): Go duration strings, RFC 3339
 * times, bounded integers, Jaeger tag filters and Zipkin annotation queries.
 * They know nothing of HTTP (the caller fetches the text), so each can be
 * fuzzed alone.
 *
 * Threads: reentrant; no global state.
 * Errors:  every function returns 0, or -EINVAL and writes one line into
 *          err (errlen bytes, always NUL-terminated, truncated to fit) that
 *          names the parameter and quotes the value, ready for a 400 body:
 *            invalid value for parameter 'limit': -1 (allowed: 1 to 1500)
 *          The functions that take an arena also return -ENOMEM, with a
 *          message, when it is exhausted.  On error the outputs of the
 *          scalar parsers are left unchanged; a pair list may have been
 *          changed and must be discarded.
 * Memory:  texts are NUL-terminated, borrowed for the call only (NULL
 *          reads as ""); pair lists and their strings are allocated from
 *          the caller's arena, so they outlive the texts. */
#ifndef TM_QUERY_PARAMS_H
#define TM_QUERY_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "span.h"

/* a filter term: a Jaeger tag key and value, or a Zipkin annotation-query
 * term (an empty value is Zipkin's bare word: "key=" means the same). */
struct tm_qp_pair {
	struct tm_str key;
	struct tm_str value;
};

/* a growing list of pairs; start from all zeros. */
struct tm_qp_pairs {
	struct tm_qp_pair *items;
	size_t n;
	size_t cap;
};

/* parses a Go duration string exactly as Go's time.ParseDuration does: an
 * optional sign, then one or more decimal numbers, each with an optional
 * fraction and a unit among ns, us, µs (U+00B5 or U+03BC), ms, s, m, h, as
 * in "1h15m30.5s", "300ms", ".5us"; a bare "0" is the only number without
 * a unit.  Negative durations are refused ("-0s" is zero), and so is
 * anything beyond INT64_MAX nanoseconds (about 292 years). */
int tm_qp_duration(const char *name, const char *text, int64_t *out_ns, char *err,
		   size_t errlen);

/* parses an RFC 3339 time, "2026-08-01T10:00:00.123456789Z" or with an
 * offset "...+02:00", into nanoseconds since the Unix epoch.  The fraction
 * is optional and has 1 to 9 digits; 'T' and 'Z' may be lower-case (RFC
 * 3339 5.6); leap second 60 is refused, as Go does.  Times before 1970 or
 * after 2554 (beyond uint64 nanoseconds) are refused. */
int tm_qp_rfc3339(const char *name, const char *text, uint64_t *out_ns, char *err,
		  size_t errlen);

/* parses a decimal integer with an optional sign (no spaces, no
 * fraction) and checks min <= value <= max. */
int tm_qp_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
	      char *err, size_t errlen);

/* adds the pairs of a Jaeger `tags` JSON object (or /api/v3
 * query.attributes), e.g. {"http.status_code":"500","error":true}, to
 * *tags.  Values may be strings (taken as they are), numbers (their text
 * as written, "1.50" stays "1.50") or booleans ("true"/"false"); anything
 * else is refused.  A key already in *tags gets the new value, as in
 * Jaeger, where later parameters override earlier ones and `tags` is read
 * after every `tag`: so call tm_qp_tag_pair() first. */
int tm_qp_tags_json(const char *name, const char *text, struct tm_arena *arena,
		    struct tm_qp_pairs *tags, char *err, size_t errlen);

/* adds one Jaeger `tag` parameter, "key:value", split at the first ':'
 * (the value may hold more); a text without ':' is refused.  A key already
 * in *tags gets the new value. */
int tm_qp_tag_pair(const char *name, const char *text, struct tm_arena *arena,
		   struct tm_qp_pairs *tags, char *err, size_t errlen);

/* adds the terms of a Zipkin annotationQuery, by Zipkin's own rules
 * (QueryRequest.parseAnnotationQuery): split on " and " (at most 100
 * terms, the last one keeps the rest), then each term is "key=value"
 * (split at the first '=', both sides trimmed) or a bare word (trimmed,
 * value empty).  Empty keys are skipped.  A key=value term replaces an
 * earlier term of the same key; a bare word never replaces one.  Never
 * fails except for -ENOMEM: every text is a valid query. */
int tm_qp_annotation_query(const char *name, const char *text, struct tm_arena *arena,
			   struct tm_qp_pairs *terms, char *err, size_t errlen);

#endif
