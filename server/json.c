/* json.c - append JSON tokens to a struct tm_buf (see json.h). */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/*---- strings ----*/

/* 1 for an ASCII byte that goes into a JSON string unescaped. */
static int is_plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* returns the length of the well-formed UTF-8 sequence at s (2 to 4), or 0
 * and sets *bad to the length of its maximal ill-formed prefix, which is
 * replaced by one U+FFFD (Unicode's recommended practice).  The bounds are
 * those of Unicode table 3-7, so overlong forms, surrogates and code points
 * above U+10FFFF count as ill-formed. */
static size_t utf8_seq_len(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t more;

	if (c >= 0xC2 && c <= 0xDF)
		more = 1;
	else if (c >= 0xE0 && c <= 0xEF)
		more = 2;
	else if (c >= 0xF0 && c <= 0xF4)
		more = 3;
	else {
		*bad = 1;
		return 0;
	}
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	for (size_t i = 1; i <= more; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return more + 1;
}

/* returns how many bytes from s can be copied as they are. */
static size_t plain_run(const unsigned char *s, size_t n)
{
	size_t i = 0, bad;

	while (i < n) {
		if (s[i] < 0x80) {
			if (!is_plain_ascii(s[i]))
				break;
			i++;
			continue;
		}
		size_t seq = utf8_seq_len(s + i, n - i, &bad);
		if (seq == 0)
			break;
		i += seq;
	}
	return i;
}

static void add_ascii_escape(struct tm_buf *b, unsigned char c)
{
	const char *short_form = NULL;

	switch (c) {
	case '"': short_form = "\\\""; break;
	case '\\': short_form = "\\\\"; break;
	case '\n': short_form = "\\n"; break;
	case '\r': short_form = "\\r"; break;
	case '\t': short_form = "\\t"; break;
	case '\b': short_form = "\\b"; break;
	case '\f': short_form = "\\f"; break;
	default: break;
	}
	if (short_form) {
		tm_buf_add(b, short_form, 2);
		return;
	}
	char u[6] = { '\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15] };
	tm_buf_add(b, u, sizeof(u));
}

/* writes the escape for the byte(s) at s that plain_run() stopped at and
 * returns how many input bytes it consumed. */
static size_t add_special(struct tm_buf *b, const unsigned char *s, size_t n)
{
	size_t bad = 1;

	if (s[0] < 0x80) {
		add_ascii_escape(b, s[0]);
		return 1;
	}
	utf8_seq_len(s, n, &bad);
	tm_buf_add(b, "\xEF\xBF\xBD", 3);   /* U+FFFD */
	return bad;
}

void tm_json_str(struct tm_buf *b, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	tm_buf_add(b, "\"", 1);
	while (i < len) {
		size_t run = plain_run(s + i, len - i);
		if (run > 0)
			tm_buf_add(b, s + i, run);
		i += run;
		if (i < len)
			i += add_special(b, s + i, len - i);
	}
	tm_buf_add(b, "\"", 1);
}

void tm_json_cstr(struct tm_buf *b, const char *s)
{
	tm_json_str(b, s, s ? strlen(s) : 0);
}

void tm_json_tstr(struct tm_buf *b, const struct tm_str *s)
{
	tm_json_str(b, s->ptr, s->len);
}

void tm_json_key(struct tm_buf *b, const char *key)
{
	tm_buf_add(b, "\"", 1);
	tm_buf_add_str(b, key);
	tm_buf_add(b, "\":", 2);
}

/*---- numbers ----*/

/* writes v in decimal so that it ends just before end; returns its start. */
static char *u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void add_integer(struct tm_buf *b, uint64_t magnitude, int is_negative,
			int is_quoted)
{
	char tmp[24];   /* '"' '-' 20 digits '"' */
	char *end = tmp + sizeof(tmp), *s;

	if (is_quoted)
		*--end = '"';
	s = u64_digits(end, magnitude);
	if (is_negative)
		*--s = '-';
	if (is_quoted)
		*--s = '"';
	tm_buf_add(b, s, (size_t)(tmp + sizeof(tmp) - s));
}

/* |v| without overflow, INT64_MIN included. */
static uint64_t magnitude_of(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void tm_json_int(struct tm_buf *b, int64_t v)
{
	add_integer(b, magnitude_of(v), v < 0, 0);
}

void tm_json_uint(struct tm_buf *b, uint64_t v)
{
	add_integer(b, v, 0, 0);
}

void tm_json_int_str(struct tm_buf *b, int64_t v)
{
	add_integer(b, magnitude_of(v), v < 0, 1);
}

void tm_json_uint_str(struct tm_buf *b, uint64_t v)
{
	add_integer(b, v, 0, 1);
}

void tm_json_double(struct tm_buf *b, double v)
{
	char tmp[32];

	if (isnan(v)) {
		tm_buf_add_str(b, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		tm_buf_add_str(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	/* 17 significant digits always round-trip; try fewer first so that
	 * 0.1 prints as 0.1 and not 0.10000000000000001. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	tm_buf_add_str(b, tmp);
}

void tm_json_bool(struct tm_buf *b, int v)
{
	tm_buf_add_str(b, v ? "true" : "false");
}

/*---- bytes ----*/

void tm_json_hex(struct tm_buf *b, const uint8_t *p, size_t len)
{
	char tmp[2 * 32 + 1];

	tm_buf_add(b, "\"", 1);
	for (size_t i = 0; i < len; i += 32) {
		size_t n = len - i < 32 ? len - i : 32;
		tm_id_to_hex(p + i, n, tmp);
		tm_buf_add(b, tmp, 2 * n);
	}
	tm_buf_add(b, "\"", 1);
}

/* encodes n bytes (a multiple of 3 unless it is the last block) into out;
 * returns the number of characters written. */
static size_t base64_block(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	return o;
}

void tm_json_base64(struct tm_buf *b, const void *p, size_t len)
{
	const unsigned char *s = p;
	char tmp[64];   /* 48 input bytes; a multiple of 3 keeps '=' at the end */

	tm_buf_add(b, "\"", 1);
	for (size_t i = 0; i < len; i += 48) {
		size_t n = len - i < 48 ? len - i : 48;
		tm_buf_add(b, tmp, base64_block(s + i, n, tmp));
	}
	tm_buf_add(b, "\"", 1);
}
