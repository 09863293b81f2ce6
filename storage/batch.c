/* batch.c - building a tm_batch in the decoding thread. */
#include "batch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const *value_keys;
static size_t n_value_keys;
static size_t value_key_len[TM_BATCH_MAX_VALUE_KEYS];
static uint64_t value_key_lengths;   /* bit n: some key is n bytes long (n < 64) */

void tm_batch_set_value_keys(const char *const *keys, size_t n)
{
	value_keys = keys;
	n_value_keys = n < TM_BATCH_MAX_VALUE_KEYS ? n : TM_BATCH_MAX_VALUE_KEYS;
	value_key_lengths = 0;
	for (size_t i = 0; i < n_value_keys; i++) {
		value_key_len[i] = strlen(keys[i]);
		if (value_key_len[i] < 64)
			value_key_lengths |= 1ull << value_key_len[i];
	}
}

size_t tm_batch_value_keys(const char *const **keys)
{
	*keys = value_keys;
	return n_value_keys;
}

void tm_batch_init(struct tm_batch *b, struct tm_arena *arena)
{
	memset(b, 0, sizeof(*b));
	b->arena = arena;
	tm_buf_init(&b->scratch);
}

void tm_batch_done(struct tm_batch *b)
{
	tm_buf_free(&b->scratch);
}

/* grows an arena-backed array; the old copy stays in the arena until it is
 * cleared, which is cheap next to a per-span malloc. */
static int grow(struct tm_arena *arena, void **items, size_t *cap, size_t n,
		size_t item_size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = tm_arena_alloc(arena, ncap * item_size);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, *items, n * item_size);
	*items = p;
	*cap = ncap;
	return 0;
}

/* eight bytes at a time (a multiply-xorshift per word), then splitmix64's
 * finalizer: 4-6x faster than byte-wise FNV on attribute values, and every
 * input bit still reaches every output bit */
uint64_t tm_hash64_seeded(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull);
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	if (len)   /* an empty string may come as a NULL pointer */
		memcpy(&w, p, len);
	h = (h ^ w ^ ((uint64_t)len << 56)) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

uint64_t tm_hash64(const void *data, size_t len)
{
	return tm_hash64_seeded(0xcbf29ce484222325ull, data, len);
}

/* encodes into a scratch buffer, then copies into the arena */
static int blob_from_buf(struct tm_batch *b, struct tm_buf *tmp, struct tm_blob *blob)
{
	if (tmp->failed)
		return -ENOMEM;
	unsigned char *p = tm_arena_dup(b->arena, tmp->data, tmp->len);
	if (!p && tmp->len)
		return -ENOMEM;
	blob->data = p;
	blob->len = tmp->len;
	blob->hash = tm_hash64(p, tmp->len);
	b->bytes += tmp->len;
	return 0;
}

int tm_batch_add_resource(struct tm_batch *b, const struct tm_resource *res,
			  uint32_t *index)
{
	if (grow(b->arena, (void **)&b->resources, &b->cap_resources, b->n_resources,
		 sizeof(*b->resources)) < 0)
		return -ENOMEM;
	size_t n = b->n_resources;
	if (grow(b->arena, (void **)&b->services, &b->cap_services, n,
		 sizeof(*b->services)) < 0)
		return -ENOMEM;
	b->scratch.len = 0;
	tm_resource_encode(&b->scratch, res);
	int rc = blob_from_buf(b, &b->scratch, &b->resources[n]);
	if (rc < 0)
		return rc;
	const struct tm_str *svc = tm_attrs_get_str(&res->attrs, "service.name");
	struct tm_str name = { "", 0 };
	if (svc) {
		name.ptr = tm_arena_dup(b->arena, svc->ptr, svc->len);
		name.len = svc->len;
		if (!name.ptr && svc->len)
			return -ENOMEM;
	}
	b->services[b->n_resources] = name;
	if (grow(b->arena, (void **)&b->res_blooms, &b->cap_res_blooms, n,
		 sizeof(*b->res_blooms)) < 0)
		return -ENOMEM;
	memset(&b->res_blooms[n], 0, sizeof(b->res_blooms[n]));
	tm_bloom_add_attrs(&b->res_blooms[n], &res->attrs);
	*index = (uint32_t)b->n_resources++;
	return 0;
}

int tm_batch_add_scope(struct tm_batch *b, const struct tm_scope *scope,
		       uint32_t *index)
{
	if (grow(b->arena, (void **)&b->scopes, &b->cap_scopes, b->n_scopes,
		 sizeof(*b->scopes)) < 0)
		return -ENOMEM;
	b->scratch.len = 0;
	tm_scope_encode(&b->scratch, scope);
	int rc = blob_from_buf(b, &b->scratch, &b->scopes[b->n_scopes]);
	if (rc < 0)
		return rc;
	if (grow(b->arena, (void **)&b->scope_blooms, &b->cap_scope_blooms, b->n_scopes,
		 sizeof(*b->scope_blooms)) < 0)
		return -ENOMEM;
	memset(&b->scope_blooms[b->n_scopes], 0, sizeof(b->scope_blooms[0]));
	tm_bloom_add_attrs(&b->scope_blooms[b->n_scopes], &scope->attrs);
	*index = (uint32_t)b->n_scopes++;
	return 0;
}

/* the attributes the index and the service map read, found in one pass:
 * a lookup per name would scan the attributes a dozen times per span */
enum fact {
	F_PEER_SERVICE, F_SERVICE_PEER_NAME, F_SERVER_ADDRESS, F_NET_PEER_NAME,
	F_NETWORK_PEER_ADDRESS, F_DB_SYSTEM_NAME, F_DB_SYSTEM, F_DB_NAMESPACE, F_DB_NAME,
	F_MESSAGING_SYSTEM, F_MESSAGING_DESTINATION, F_HTTP_RESPONSE_STATUS, F_HTTP_STATUS,
	N_FACTS
};

static const struct {
	const char *key;
	size_t len;
} fact_keys[N_FACTS] = {
	{ "peer.service", 12 },           { "service.peer.name", 17 },
	{ "server.address", 14 },         { "net.peer.name", 13 },
	{ "network.peer.address", 20 },   { "db.system.name", 14 },
	{ "db.system", 9 },               { "db.namespace", 12 },
	{ "db.name", 7 },                 { "messaging.system", 16 },
	{ "messaging.destination.name", 26 },
	{ "http.response.status_code", 25 }, { "http.status_code", 16 },
};

struct span_facts {
	const struct tm_value *v[N_FACTS];   /* the first attribute of each name */
};

static void span_facts(const struct tm_span *span, struct span_facts *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < span->attrs.n; i++) {
		const struct tm_attr *a = &span->attrs.items[i];
		/* every fact key starts with one of these letters */
		char c = a->key.len ? a->key.ptr[0] : 0;
		if (c != 'p' && c != 's' && c != 'n' && c != 'd' && c != 'm' && c != 'h')
			continue;
		for (int k = 0; k < N_FACTS; k++)
			if (!f->v[k] && a->key.len == fact_keys[k].len &&
			    !memcmp(a->key.ptr, fact_keys[k].key, a->key.len)) {
				f->v[k] = &a->value;
				break;
			}
	}
}

/* a non-empty string fact, or NULL */
static const struct tm_str *fact_str(const struct span_facts *f, enum fact k)
{
	const struct tm_value *v = f->v[k];
	return v && v->type == TM_VAL_STRING && v->u.str.len ? &v->u.str : NULL;
}

static struct tm_str peer_of(const struct tm_span *span, const struct span_facts *f)
{
	static const enum fact any_kind[] = { F_PEER_SERVICE, F_SERVICE_PEER_NAME };
	static const enum fact calls[] = { F_SERVER_ADDRESS, F_NET_PEER_NAME };
	for (size_t i = 0; i < 2; i++) {
		const struct tm_str *v = fact_str(f, any_kind[i]);
		if (v)
			return *v;
	}
	if (span->kind == TM_KIND_CLIENT || span->kind == TM_KIND_PRODUCER) {
		/* a bare socket address is not a service name (Zipkin ingest copies
		 * a remote endpoint's IP into server.address) */
		const struct tm_str *sock = fact_str(f, F_NETWORK_PEER_ADDRESS);
		for (size_t i = 0; i < 2; i++) {
			const struct tm_str *v = fact_str(f, calls[i]);
			if (v && !(sock && tm_str_eq(*v, *sock)))
				return *v;
		}
	}
	return (struct tm_str){ "", 0 };
}

struct tm_str tm_span_peer(const struct tm_span *span)
{
	struct span_facts f;
	span_facts(span, &f);
	return peer_of(span, &f);
}

static const struct tm_str *first_fact(const struct span_facts *f, const enum fact *keys,
				       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tm_str *v = fact_str(f, keys[i]);
		if (v)
			return v;
	}
	return NULL;
}

static enum tm_node_kind node_of(const struct tm_span *span, const struct span_facts *f,
				 struct tm_str *name)
{
	static const enum fact peer[] = { F_PEER_SERVICE, F_SERVICE_PEER_NAME };
	static const enum fact db_system[] = { F_DB_SYSTEM_NAME, F_DB_SYSTEM };
	static const enum fact db_name[] = { F_DB_NAMESPACE, F_DB_NAME, F_DB_SYSTEM_NAME,
					     F_DB_SYSTEM };
	static const enum fact mq_name[] = { F_MESSAGING_DESTINATION, F_MESSAGING_SYSTEM };
	*name = (struct tm_str){ "", 0 };
	int caller = span->kind == TM_KIND_CLIENT || span->kind == TM_KIND_PRODUCER;
	int root_callee = !span->has_parent &&
			  (span->kind == TM_KIND_SERVER || span->kind == TM_KIND_CONSUMER);
	if (!caller && !root_callee)
		return TM_NODE_NONE;
	enum tm_node_kind kind = TM_NODE_EXTERNAL;
	if (first_fact(f, db_system, 2))
		kind = TM_NODE_DATABASE;
	else if (fact_str(f, F_MESSAGING_SYSTEM))
		kind = TM_NODE_MESSAGING;
	const struct tm_str *v = first_fact(f, peer, 2);
	if (!v && caller)
		v = fact_str(f, F_SERVER_ADDRESS);
	if (!v && caller && kind == TM_NODE_DATABASE)
		v = first_fact(f, db_name, 4);
	if (!v && caller && kind == TM_NODE_MESSAGING)
		v = first_fact(f, mq_name, 2);
	if (!v)
		return TM_NODE_NONE;
	*name = *v;
	return kind;
}

enum tm_node_kind tm_span_node(const struct tm_span *span, struct tm_str *name)
{
	struct span_facts f;
	span_facts(span, &f);
	return node_of(span, &f, name);
}

static unsigned http_status_of(const struct span_facts *f)
{
	static const enum fact keys[] = { F_HTTP_RESPONSE_STATUS, F_HTTP_STATUS };
	for (size_t k = 0; k < 2; k++) {
		const struct tm_value *v = f->v[keys[k]];
		if (!v)
			continue;
		int64_t n = -1;
		if (v->type == TM_VAL_INT)
			n = v->u.integer;
		else if (v->type == TM_VAL_STRING)
			tm_text_to_int(v->u.str, &n);
		return n > 0 && n < 1000 ? (unsigned)n : 0;
	}
	return 0;
}

unsigned tm_span_http_status(const struct tm_span *span)
{
	struct span_facts f;
	span_facts(span, &f);
	return http_status_of(&f);
}

static int copy_str(struct tm_arena *arena, struct tm_str in, struct tm_str *out)
{
	out->ptr = "";
	out->len = 0;
	if (!in.len)
		return 0;
	out->ptr = tm_arena_dup(arena, in.ptr, in.len);
	if (!out->ptr)
		return -ENOMEM;
	out->len = in.len;
	return 0;
}

/* text of a value the way query parameters spell it; -1 for other types */
static int value_text(const struct tm_value *v, char *buf, size_t size, struct tm_str *out)
{
	int n;
	switch (v->type) {
	case TM_VAL_STRING:
		*out = v->u.str;
		return 0;
	case TM_VAL_INT:
		n = snprintf(buf, size, "%" PRId64, v->u.integer);
		break;
	case TM_VAL_BOOL:
		n = snprintf(buf, size, "%s", v->u.boolean ? "true" : "false");
		break;
	default:
		return -1;
	}
	out->ptr = buf;
	out->len = (size_t)n;
	return 0;
}

/* the index of the value key named key, or -1; most attributes are ruled
 * out by their length alone */
static int value_key_index(struct tm_str key)
{
	if (key.len >= 64 || !(value_key_lengths >> key.len & 1))
		return -1;
	for (size_t k = 0; k < n_value_keys; k++)
		if (value_key_len[k] == key.len && !memcmp(value_keys[k], key.ptr, key.len))
			return (int)k;
	return -1;
}

/* a value once per batch: spans of a batch repeat the same few values */
static int value_seen(struct tm_batch *b, uint64_t h)
{
	if (!b->value_seen) {
		b->value_seen = tm_arena_zalloc(b->arena, VALUE_SEEN_SLOTS * sizeof(uint64_t));
		if (!b->value_seen)
			return 0;
	}
	h |= 1;   /* 0 marks an empty slot */
	for (size_t i = h & (VALUE_SEEN_SLOTS - 1), n = 0; n < 8;
	     i = (i + 1) & (VALUE_SEEN_SLOTS - 1), n++) {
		if (b->value_seen[i] == h)
			return 1;
		if (!b->value_seen[i]) {
			b->value_seen[i] = h;
			return 0;
		}
	}
	return 0;   /* a crowded neighbourhood: the store dedupes anyway */
}

static int collect_values(struct tm_batch *b, const struct tm_span *span, uint32_t resource)
{
	for (size_t i = 0; i < span->attrs.n; i++) {
		const struct tm_attr *a = &span->attrs.items[i];
		int k = value_key_index(a->key);
		if (k < 0)
			continue;
		char buf[32];
		struct tm_str text;
		if (value_text(&a->value, buf, sizeof(buf), &text) < 0 || !text.len ||
		    text.len > 256)
			continue;
		if (value_seen(b, tm_hash64_seeded((uint64_t)k, text.ptr, text.len)))
			continue;
		if (grow(b->arena, (void **)&b->values, &b->cap_values, b->n_values,
			 sizeof(*b->values)) < 0)
			return -ENOMEM;
		struct tm_batch_value *out = &b->values[b->n_values];
		out->key = (uint32_t)k;
		out->resource = resource;
		if (copy_str(b->arena, text, &out->text) < 0)
			return -ENOMEM;
		b->n_values++;
	}
	return 0;
}

int tm_batch_add_span(struct tm_batch *b, const struct tm_span *span,
		      uint32_t resource, uint32_t scope)
{
	if (grow(b->arena, (void **)&b->spans, &b->cap_spans, b->n_spans,
		 sizeof(*b->spans)) < 0)
		return -ENOMEM;
	struct tm_buf *tmp = &b->scratch;
	tmp->len = 0;
	tm_span_encode(tmp, span);
	if (tmp->failed)
		return -ENOMEM;
	struct tm_batch_span *bs = &b->spans[b->n_spans];
	bs->rec = tm_arena_dup(b->arena, tmp->data, tmp->len);
	bs->rec_len = tmp->len;
	if (!bs->rec)
		return -ENOMEM;
	memcpy(bs->trace_id, span->trace_id, TM_TRACE_ID_LEN);
	bs->resource = resource;
	bs->scope = scope;
	bs->start_ns = span->start_ns;
	bs->end_ns = span->end_ns;
	bs->is_error = span->status_code == TM_STATUS_ERROR;
	bs->is_root = !span->has_parent;
	bs->kind = span->kind;
	memcpy(bs->span_id, span->span_id, TM_SPAN_ID_LEN);
	memcpy(bs->parent_span_id, span->parent_span_id, TM_SPAN_ID_LEN);
	bs->follows_from = (uint8_t)tm_span_follows_from(span);
	struct span_facts facts;
	span_facts(span, &facts);
	bs->http_status = (uint16_t)http_status_of(&facts);
	struct tm_str node;
	bs->node_kind = (uint8_t)node_of(span, &facts, &node);
	if (copy_str(b->arena, span->name, &bs->name) < 0 ||
	    copy_str(b->arena, peer_of(span, &facts), &bs->peer) < 0 ||
	    copy_str(b->arena, node, &bs->node) < 0)
		return -ENOMEM;
	memset(&bs->bloom, 0, sizeof(bs->bloom));
	tm_bloom_add_span(&bs->bloom, span);
	if (n_value_keys && collect_values(b, span, resource) < 0)
		return -ENOMEM;
	b->bytes += bs->rec_len;
	b->n_spans++;
	return 0;
}
