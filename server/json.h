/* json.h - append JSON tokens to a struct tm_buf.
 *
 * Writers only: each call appends one complete JSON value (or one object
 * key) and never a separator, so callers place ',' ':' '[' '{' themselves.
 * Output is always valid UTF-8 JSON: strings are escaped and any byte that
 * is not part of well-formed UTF-8 becomes U+FFFD.
 * Threads: pure functions on the caller's buffer.
 * Errors:  none returned; an allocation failure sets the buffer's sticky
 *          `failed` flag (see tm_buf_add) and later writes are dropped.
 * Memory:  nothing is kept; inputs are borrowed for the call only. */
#ifndef TM_JSON_H
#define TM_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

/* appends p[0..len) as a quoted, escaped JSON string. */
void tm_json_str(struct tm_buf *b, const char *p, size_t len);

/* appends a NUL-terminated string as a JSON string. */
void tm_json_cstr(struct tm_buf *b, const char *s);

/* appends a struct tm_str as a JSON string. */
void tm_json_tstr(struct tm_buf *b, const struct tm_str *s);

/* appends "key": for a key that is plain ASCII without '"' or '\\'
 * (a literal in our code); it is copied without escaping. */
void tm_json_key(struct tm_buf *b, const char *key);

/* appends an integer as a JSON number. */
void tm_json_int(struct tm_buf *b, int64_t v);
void tm_json_uint(struct tm_buf *b, uint64_t v);

/* appends an integer as a quoted decimal string (proto3 64-bit rule). */
void tm_json_int_str(struct tm_buf *b, int64_t v);
void tm_json_uint_str(struct tm_buf *b, uint64_t v);

/* appends a finite double as the shortest number that reads back equal;
 * NaN and infinities as the strings "NaN", "Infinity", "-Infinity"
 * (proto3 JSON).  Assumes the "C" numeric locale. */
void tm_json_double(struct tm_buf *b, double v);

/* appends true or false. */
void tm_json_bool(struct tm_buf *b, int v);

/* appends len bytes as a quoted lowercase hex string. */
void tm_json_hex(struct tm_buf *b, const uint8_t *p, size_t len);

/* appends len bytes as a quoted standard base64 string with padding. */
void tm_json_base64(struct tm_buf *b, const void *p, size_t len);

#endif
