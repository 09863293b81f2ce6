/* json_reader.h - a pull parser for JSON request bodies, without a tree.
 *
 * Decoders walk the body in order: open an object, take its keys one by one,
 * read or skip each value.  Nothing is allocated unless a string holds
 * escapes (then it is unescaped into the arena), which makes it several
 * times faster than building a DOM for span payloads.  Nesting is bounded,
 * so hostile input cannot exhaust the stack.
 *
 * Errors are sticky: the first one stops the reader (every loop ends, every
 * read returns a zero value) and r->err / r->message say what and where.
 * Threads: a reader belongs to one thread.
 * Memory: strings point into the body or into the arena; both must outlive
 * their use. */
#ifndef TM_JSON_READER_H
#define TM_JSON_READER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "span.h"

enum tm_jr_type {
	TM_JR_END,   /* no more input, or an error */
	TM_JR_OBJECT,
	TM_JR_ARRAY,
	TM_JR_STRING,
	TM_JR_NUMBER,
	TM_JR_BOOL,
	TM_JR_NULL,
};

struct tm_jr {
	const char *start, *p, *end;
	struct tm_arena *arena;
	int depth;            /* open objects and arrays */
	int err;              /* 0, -EBADMSG or -ENOMEM */
	char message[160];
};

void tm_jr_init(struct tm_jr *r, const void *body, size_t len, struct tm_arena *arena);

/* the type of the next value, without consuming it. */
enum tm_jr_type tm_jr_peek(struct tm_jr *r);

/* consumes '{'; then tm_jr_next_key() returns 1 with the next key (the
 * reader then stands before its value, which must be read or skipped) or 0
 * after the closing '}'. */
void tm_jr_object(struct tm_jr *r);
int tm_jr_next_key(struct tm_jr *r, struct tm_str *key);

/* consumes '['; then tm_jr_next_item() returns 1 before each element and 0
 * after the closing ']'. */
void tm_jr_array(struct tm_jr *r);
int tm_jr_next_item(struct tm_jr *r);

/* reads a string (unescaped), a number's text, a bool, or null. */
struct tm_str tm_jr_string(struct tm_jr *r);
struct tm_str tm_jr_number(struct tm_jr *r);
int tm_jr_bool(struct tm_jr *r);
void tm_jr_null(struct tm_jr *r);

/* skips one value of any type. */
void tm_jr_skip(struct tm_jr *r);

/* after the top-level value: fails unless only whitespace is left. */
void tm_jr_finish(struct tm_jr *r);

/* sets the error (the first one wins) with a message. */
void tm_jr_fail(struct tm_jr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when key equals one of the two names (the second may be NULL).  Inline,
 * so that the lengths of literal names are known when compiling: decoders
 * compare every key of every span with a dozen names. */
static inline int tm_jr_key_is(struct tm_str key, const char *name, const char *alt)
{
	size_t n = __builtin_strlen(name);
	if (key.len == n && !__builtin_memcmp(key.ptr, name, n))
		return 1;
	if (!alt)
		return 0;
	n = __builtin_strlen(alt);
	return key.len == n && !__builtin_memcmp(key.ptr, alt, n);
}

#endif
