/* search_hash.c - typed attribute hashes and the Bloom filters of the search index. */
#include "search_hash.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum hash_tag {
	TAG_STRING = 's',
	TAG_INT = 'i',
	TAG_BOOL = 'b',
	TAG_DOUBLE = 'd',
	TAG_ANY = 'w',     /* key present with a value we do not index */
	TAG_KEY = 'k',
	TAG_EVENT = 'e',
};

/* FNV-1a over several pieces, then the splitmix64 finalizer */
struct hasher {
	uint64_t h;
};

static void hash_begin(struct hasher *s)
{
	s->h = 0xcbf29ce484222325ull;
}

static void hash_bytes(struct hasher *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		s->h ^= p[i];
		s->h *= 0x100000001b3ull;
	}
}

static uint64_t hash_end(struct hasher *s)
{
	uint64_t h = s->h;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static uint64_t hash_tagged(struct tm_str key, unsigned char tag, const void *val, size_t len)
{
	struct hasher s;
	hash_begin(&s);
	hash_bytes(&s, key.ptr, key.len);
	unsigned char sep[2] = { 0xff, tag };
	hash_bytes(&s, sep, 2);
	hash_bytes(&s, val, len);
	return hash_end(&s);
}

static uint64_t hash_int(struct tm_str key, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return hash_tagged(key, TAG_INT, b, 8);
}

static uint64_t hash_double(struct tm_str key, double d)
{
	if (d == 0)
		d = 0;   /* -0 and 0 compare equal, so they hash equal */
	uint64_t bits;
	memcpy(&bits, &d, 8);
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(bits >> (8 * i));
	return hash_tagged(key, TAG_DOUBLE, b, 8);
}

static uint64_t hash_bool(struct tm_str key, int v)
{
	unsigned char b = v ? 1 : 0;
	return hash_tagged(key, TAG_BOOL, &b, 1);
}

static uint64_t hash_any(struct tm_str key)
{
	return hash_tagged(key, TAG_ANY, NULL, 0);
}

uint64_t tm_search_hash_kv(struct tm_str key, const struct tm_value *v)
{
	switch (v->type) {
	case TM_VAL_STRING:
		return hash_tagged(key, TAG_STRING, v->u.str.ptr, v->u.str.len);
	case TM_VAL_INT:
		return hash_int(key, v->u.integer);
	case TM_VAL_BOOL:
		return hash_bool(key, v->u.boolean);
	case TM_VAL_DOUBLE:
		return hash_double(key, v->u.dbl);
	default:
		return hash_any(key);
	}
}

uint64_t tm_search_hash_key(struct tm_str key)
{
	return hash_tagged(key, TAG_KEY, NULL, 0);
}

uint64_t tm_search_hash_event(struct tm_str name)
{
	return hash_tagged((struct tm_str){ "", 0 }, TAG_EVENT, name.ptr, name.len);
}

void tm_bloom_add(struct tm_bloom *b, uint64_t h)
{
	for (int i = 0; i < 3; i++) {
		unsigned bit = (unsigned)(h >> (10 * i)) & 1023;
		b->w[bit >> 6] |= 1ull << (bit & 63);
	}
}

int tm_bloom_maybe(const struct tm_bloom *b, uint64_t h)
{
	for (int i = 0; i < 3; i++) {
		unsigned bit = (unsigned)(h >> (10 * i)) & 1023;
		if (!(b->w[bit >> 6] & (1ull << (bit & 63))))
			return 0;
	}
	return 1;
}

void tm_bloom_or(struct tm_bloom *dst, const struct tm_bloom *src)
{
	for (int i = 0; i < TM_BLOOM_WORDS; i++)
		dst->w[i] |= src->w[i];
}

void tm_bloom_add_attrs(struct tm_bloom *b, const struct tm_attrs *attrs)
{
	for (size_t i = 0; i < attrs->n; i++) {
		tm_bloom_add(b, tm_search_hash_kv(attrs->items[i].key, &attrs->items[i].value));
		tm_bloom_add(b, tm_search_hash_key(attrs->items[i].key));
	}
}

void tm_bloom_add_span(struct tm_bloom *b, const struct tm_span *span)
{
	tm_bloom_add_attrs(b, &span->attrs);
	for (size_t i = 0; i < span->n_events; i++) {
		tm_bloom_add(b, tm_search_hash_event(span->events[i].name));
		tm_bloom_add_attrs(b, &span->events[i].attrs);
	}
	for (size_t i = 0; i < span->n_links; i++)
		tm_bloom_add_attrs(b, &span->links[i].attrs);
}

/* the text must be NUL-terminated for strtoll/strtod: copy short ones */
static int text_cstr(struct tm_str text, char *buf, size_t size)
{
	if (!text.len || text.len >= size)
		return -1;
	memcpy(buf, text.ptr, text.len);
	buf[text.len] = 0;
	return 0;
}

int tm_text_to_int(struct tm_str text, int64_t *out)
{
	char buf[32], *end;
	if (text_cstr(text, buf, sizeof(buf)) < 0)
		return -1;
	if (!(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
		return -1;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int tm_text_to_double(struct tm_str text, double *out)
{
	char buf[64], *end;
	if (text_cstr(text, buf, sizeof(buf)) < 0)
		return -1;
	if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
		return -1;
	double d = strtod(buf, &end);
	if (*end || isnan(d))
		return -1;
	*out = d;
	return 0;
}

size_t tm_search_text_hashes(struct tm_str key, struct tm_str text,
			     uint64_t out[TM_SEARCH_TEXT_HASHES])
{
	size_t n = 0;
	out[n++] = hash_tagged(key, TAG_STRING, text.ptr, text.len);
	out[n++] = hash_any(key);
	int64_t i;
	double d;
	if (!tm_text_to_int(text, &i))
		out[n++] = hash_int(key, i);
	if (!tm_text_to_double(text, &d))
		out[n++] = hash_double(key, d);
	if (tm_str_eq(text, tm_str_from("true")) || tm_str_eq(text, tm_str_from("false")))
		out[n++] = hash_bool(key, text.len == 4);
	return n;
}

int tm_bloom_maybe_text(const struct tm_bloom *b, struct tm_str key, struct tm_str text)
{
	uint64_t h[TM_SEARCH_TEXT_HASHES];
	size_t n = tm_search_text_hashes(key, text, h);
	for (size_t i = 0; i < n; i++)
		if (tm_bloom_maybe(b, h[i]))
			return 1;
	return 0;
}
