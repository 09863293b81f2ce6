/* batch.c - building a tm_batch in the decoding thread. */
#include "batch.h"

#include <errno.h>
#include <string.h>

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

uint64_t tm_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* final mix (splitmix64) so that similar inputs spread over all bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
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
	*index = (uint32_t)b->n_scopes++;
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
	bs->name.ptr = "";
	bs->name.len = 0;
	if (span->name.len) {
		bs->name.ptr = tm_arena_dup(b->arena, span->name.ptr, span->name.len);
		if (!bs->name.ptr)
			return -ENOMEM;
		bs->name.len = span->name.len;
	}
	b->bytes += bs->rec_len;
	b->n_spans++;
	return 0;
}
