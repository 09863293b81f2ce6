/* json_reader.c - pull parser for JSON bodies (RFC 8259). */
#include "json_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* deeper documents are refused: far beyond any span payload, far below
 * what the stack could take */
#define MAX_DEPTH 256

void tm_jr_init(struct tm_jr *r, const void *body, size_t len, struct tm_arena *arena)
{
	memset(r, 0, sizeof(*r));
	r->start = r->p = body;
	r->end = r->p + len;
	r->arena = arena;
}

void tm_jr_fail(struct tm_jr *r, const char *fmt, ...)
{
	if (r->err)
		return;
	r->err = -EBADMSG;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	r->p = r->end;   /* every loop ends from here */
}

static void syntax_error(struct tm_jr *r, const char *what)
{
	tm_jr_fail(r, "body is not valid JSON: %s at byte %td", what, r->p - r->start);
}

static void skip_space(struct tm_jr *r)
{
	while (r->p < r->end &&
	       (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

enum tm_jr_type tm_jr_peek(struct tm_jr *r)
{
	skip_space(r);
	if (r->p >= r->end)
		return TM_JR_END;
	switch (*r->p) {
	case '{': return TM_JR_OBJECT;
	case '[': return TM_JR_ARRAY;
	case '"': return TM_JR_STRING;
	case 't': case 'f': return TM_JR_BOOL;
	case 'n': return TM_JR_NULL;
	default:
		return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ? TM_JR_NUMBER : TM_JR_END;
	}
}

static int expect(struct tm_jr *r, char c, const char *what)
{
	skip_space(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return 1;
	}
	syntax_error(r, what);
	return 0;
}

static void open_container(struct tm_jr *r, char c)
{
	if (!expect(r, c, c == '{' ? "'{' expected" : "'[' expected"))
		return;
	if (++r->depth > MAX_DEPTH)
		syntax_error(r, "nested too deeply");
}

void tm_jr_object(struct tm_jr *r)
{
	open_container(r, '{');
}

void tm_jr_array(struct tm_jr *r)
{
	open_container(r, '[');
}

/* after '{' or '[' (first) or after a member: ',' continues, close ends */
static int next_member(struct tm_jr *r, char close, int *first)
{
	skip_space(r);
	if (r->err || r->p >= r->end) {
		if (!r->err)
			syntax_error(r, "unexpected end");
		return 0;
	}
	if (*r->p == close) {
		r->p++;
		r->depth--;
		return 0;
	}
	if (!*first && !expect(r, ',', "',' expected"))
		return 0;
	*first = 0;
	return 1;
}

/* whether the container just opened has had a member: the byte before the
 * next token is the opening bracket when it has not */
static int at_first(const struct tm_jr *r)
{
	const char *q = r->p;
	while (q > r->start && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\r' || q[-1] == '\t'))
		q--;
	return q > r->start && (q[-1] == '{' || q[-1] == '[');
}

int tm_jr_next_key(struct tm_jr *r, struct tm_str *key)
{
	int first = at_first(r);
	if (!next_member(r, '}', &first))
		return 0;
	if (tm_jr_peek(r) != TM_JR_STRING) {
		syntax_error(r, "object key expected");
		return 0;
	}
	*key = tm_jr_string(r);
	return expect(r, ':', "':' expected");
}

int tm_jr_next_item(struct tm_jr *r)
{
	int first = at_first(r);
	return next_member(r, ']', &first);
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t put_utf8(unsigned char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX, with a following low surrogate when this is a high one */
static int read_unicode_escape(struct tm_jr *r, const char **q, uint32_t *cp)
{
	if (r->end - *q < 4 || (*cp = (uint32_t)hex4(*q)) > 0xffff)
		return -1;
	*q += 4;
	if (*cp >= 0xd800 && *cp < 0xdc00 && r->end - *q >= 6 && (*q)[0] == '\\' &&
	    (*q)[1] == 'u') {
		int lo = hex4(*q + 2);
		if (lo >= 0xdc00 && lo < 0xe000) {
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
			*q += 6;
		}
	}
	if (*cp >= 0xd800 && *cp < 0xe000)
		*cp = 0xfffd;   /* a lone surrogate: keep the text valid UTF-8 */
	return 0;
}

static struct tm_str unescape(struct tm_jr *r, const char *from, size_t max)
{
	struct tm_str s = { "", 0 };
	unsigned char *out = tm_arena_alloc(r->arena, max + 1);
	if (!out) {
		r->err = -ENOMEM;
		r->p = r->end;
		return s;
	}
	size_t n = 0;
	const char *q = from;
	for (; q < r->end && *q != '"'; q++) {
		if ((unsigned char)*q < 0x20) {
			r->p = q;
			syntax_error(r, "control character in a string");
			return s;
		}
		if (*q != '\\') {
			out[n++] = (unsigned char)*q;
			continue;
		}
		if (++q >= r->end)
			break;
		uint32_t cp;
		switch (*q) {
		case '"': case '\\': case '/': out[n++] = (unsigned char)*q; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			q++;
			if (read_unicode_escape(r, &q, &cp) < 0) {
				r->p = q;
				syntax_error(r, "bad \\u escape");
				return s;
			}
			n += put_utf8(out + n, cp);
			q--;
			break;
		default:
			r->p = q;
			syntax_error(r, "bad escape");
			return s;
		}
	}
	if (q >= r->end) {
		syntax_error(r, "unterminated string");
		return s;
	}
	r->p = q + 1;
	s.ptr = (const char *)out;
	s.len = n;
	return s;
}

struct tm_str tm_jr_string(struct tm_jr *r)
{
	struct tm_str s = { "", 0 };
	if (!expect(r, '"', "string expected"))
		return s;
	const char *q = r->p;
	/* the common case: no escapes, a view into the body */
	while (q < r->end && (unsigned char)*q >= 0x20 && *q != '"' && *q != '\\')
		q++;
	if (q < r->end && *q == '"') {
		s.ptr = r->p;
		s.len = (size_t)(q - r->p);
		r->p = q + 1;
		return s;
	}
	/* find the end first: escapes only shrink text (\uXXXX becomes at most
	 * 3 bytes, a surrogate pair of 12 becomes 4), so the raw length bounds
	 * the unescaped one */
	while (q < r->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	return unescape(r, r->p, (size_t)(q < r->end ? q - r->p : r->end - r->p));
}

struct tm_str tm_jr_number(struct tm_jr *r)
{
	struct tm_str s = { "0", 1 };
	skip_space(r);
	const char *q = r->p;
	if (q < r->end && *q == '-')
		q++;
	const char *digits = q;
	while (q < r->end && *q >= '0' && *q <= '9')
		q++;
	if (q == digits) {
		syntax_error(r, "number expected");
		return s;
	}
	if (q < r->end && *q == '.') {
		const char *frac = ++q;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
		if (q == frac) {
			syntax_error(r, "digits expected after '.'");
			return s;
		}
	}
	if (q < r->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < r->end && (*q == '+' || *q == '-'))
			q++;
		const char *exp = q;
		while (q < r->end && *q >= '0' && *q <= '9')
			q++;
		if (q == exp) {
			syntax_error(r, "exponent digits expected");
			return s;
		}
	}
	s.ptr = r->p;
	s.len = (size_t)(q - r->p);
	r->p = q;
	return s;
}

static int literal(struct tm_jr *r, const char *word)
{
	size_t n = strlen(word);
	skip_space(r);
	if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, word, n)) {
		r->p += n;
		return 1;
	}
	return 0;
}

int tm_jr_bool(struct tm_jr *r)
{
	if (literal(r, "true"))
		return 1;
	if (!literal(r, "false"))
		syntax_error(r, "true or false expected");
	return 0;
}

void tm_jr_null(struct tm_jr *r)
{
	if (!literal(r, "null"))
		syntax_error(r, "null expected");
}

void tm_jr_skip(struct tm_jr *r)
{
	struct tm_str key;
	switch (tm_jr_peek(r)) {
	case TM_JR_OBJECT:
		tm_jr_object(r);
		while (tm_jr_next_key(r, &key))
			tm_jr_skip(r);   /* recursion bounded by MAX_DEPTH */
		break;
	case TM_JR_ARRAY:
		tm_jr_array(r);
		while (tm_jr_next_item(r))
			tm_jr_skip(r);
		break;
	case TM_JR_STRING:
		tm_jr_string(r);
		break;
	case TM_JR_NUMBER:
		tm_jr_number(r);
		break;
	case TM_JR_BOOL:
		tm_jr_bool(r);
		break;
	case TM_JR_NULL:
		tm_jr_null(r);
		break;
	case TM_JR_END:
		syntax_error(r, "value expected");
	}
}

void tm_jr_finish(struct tm_jr *r)
{
	skip_space(r);
	if (r->p < r->end)
		syntax_error(r, "trailing data");
}
