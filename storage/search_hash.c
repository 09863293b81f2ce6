/* search_hash.c - typed attribute hashes and the Bloom filters of the search index. */
#include "search_hash.h"
#include "batch.h"

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

/* a typed value hashes from its key's hash: one pass over the key serves
 * the key=value hash and the key-alone hash */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static uint64_t key_hash(struct tm_str key)
{
	return tm_hash64_seeded(0x6b65792d68617368ull, key.ptr, key.len);
}

static uint64_t tagged(uint64_t hk, unsigned char tag, const void *val, size_t len)
{
	return tm_hash64_seeded(hk ^ ((uint64_t)tag << 56), val, len);
}

static uint64_t hash_int_k(uint64_t hk, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return tagged(hk, TAG_INT, b, 8);
}

static uint64_t hash_double_k(uint64_t hk, double d)
{
	if (d == 0)
		d = 0;   /* -0 and 0 compare equal, so they hash equal */
	uint64_t bits;
	memcpy(&bits, &d, 8);
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(bits >> (8 * i));
	return tagged(hk, TAG_DOUBLE, b, 8);
}

static uint64_t hash_bool_k(uint64_t hk, int v)
{
	return mix(hk ^ ((uint64_t)TAG_BOOL << 56) ^ (v ? 1u : 2u));
}

static uint64_t hash_any_k(uint64_t hk)
{
	return mix(hk ^ ((uint64_t)TAG_ANY << 56));
}

static uint64_t hash_key_k(uint64_t hk)
{
	return mix(hk ^ ((uint64_t)TAG_KEY << 56));
}

static uint64_t hash_kv_k(uint64_t hk, const struct tm_value *v)
{
	switch (v->type) {
	case TM_VAL_STRING:
		return tagged(hk, TAG_STRING, v->u.str.ptr, v->u.str.len);
	case TM_VAL_INT:
		return hash_int_k(hk, v->u.integer);
	case TM_VAL_BOOL:
		return hash_bool_k(hk, v->u.boolean);
	case TM_VAL_DOUBLE:
		return hash_double_k(hk, v->u.dbl);
	default:
		return hash_any_k(hk);
	}
}

uint64_t tm_search_hash_kv(struct tm_str key, const struct tm_value *v)
{
	return hash_kv_k(key_hash(key), v);
}

uint64_t tm_search_hash_key(struct tm_str key)
{
	return hash_key_k(key_hash(key));
}

uint64_t tm_search_hash_event(struct tm_str name)
{
	return tm_hash64_seeded(0x6576656e742d6e6dull, name.ptr, name.len);
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
		uint64_t hk = key_hash(attrs->items[i].key);
		tm_bloom_add(b, hash_kv_k(hk, &attrs->items[i].value));
		tm_bloom_add(b, hash_key_k(hk));
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
	uint64_t hk = key_hash(key);
	out[n++] = tagged(hk, TAG_STRING, text.ptr, text.len);
	out[n++] = hash_any_k(hk);
	int64_t i;
	double d;
	if (!tm_text_to_int(text, &i))
		out[n++] = hash_int_k(hk, i);
	if (!tm_text_to_double(text, &d))
		out[n++] = hash_double_k(hk, d);
	if (tm_str_eq(text, tm_str_from("true")) || tm_str_eq(text, tm_str_from("false")))
		out[n++] = hash_bool_k(hk, text.len == 4);
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
