/* store_read.c - reading a whole trace back. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* one resource or scope read for this trace; spans share the pointer */
struct shared_ref {
	uint64_t id;
	const void *ptr;
};

struct read_ctx {
	struct tm_store *st;
	MDB_txn *txn;
	struct tm_arena *arena;
	struct shared_ref *res, *scopes;
	size_t n_res, n_scopes, cap_res, cap_scopes;
	struct tm_span *spans;
	uint64_t *span_keys;   /* per span: hash of its stored bytes, for dedupe */
	size_t n_spans, cap_spans;
};

static const void *lookup_shared(struct read_ctx *c, int is_scope, uint64_t id, int *err)
{
	struct shared_ref **list = is_scope ? &c->scopes : &c->res;
	size_t *n = is_scope ? &c->n_scopes : &c->n_res;
	size_t *cap = is_scope ? &c->cap_scopes : &c->cap_res;
	for (size_t i = 0; i < *n; i++)
		if ((*list)[i].id == id)
			return (*list)[i].ptr;
	unsigned char key[8];
	store_put_be64(key, id);
	MDB_val k = { 8, key }, v;
	int rc = mdb_get(c->txn, is_scope ? c->st->scopes : c->st->resources, &k, &v);
	if (rc) {
		*err = rc == MDB_NOTFOUND ? -EBADMSG : store_errno(rc);
		return NULL;
	}
	/* copy out of the map: the result must outlive the read transaction */
	void *bytes = tm_arena_dup(c->arena, v.mv_data, v.mv_size);
	void *obj = tm_arena_alloc(c->arena, is_scope ? sizeof(struct tm_scope)
						      : sizeof(struct tm_resource));
	if (!bytes || !obj) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = is_scope ? tm_scope_decode(bytes, v.mv_size, c->arena, obj)
			: tm_resource_decode(bytes, v.mv_size, c->arena, obj);
	if (*err)
		return NULL;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct shared_ref *p = realloc(*list, ncap * sizeof(*p));
		if (!p) {
			*err = -ENOMEM;
			return NULL;
		}
		*list = p;
		*cap = ncap;
	}
	(*list)[(*n)++] = (struct shared_ref){ id, obj };
	return obj;
}

static int add_span(struct read_ctx *c, const uint8_t trace_id[TM_TRACE_ID_LEN], uint64_t seq,
		    const struct chunk_entry *e)
{
	if (c->n_spans == c->cap_spans) {
		size_t cap = c->cap_spans ? c->cap_spans * 2 : 64;
		struct tm_span *p = realloc(c->spans, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->spans = p;
		uint64_t *q = realloc(c->span_keys, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		c->span_keys = q;
		c->cap_spans = cap;
	}
	struct tm_span *s = &c->spans[c->n_spans];
	memcpy(s->trace_id, trace_id, TM_TRACE_ID_LEN);
	int err = tm_span_decode(e->rec, e->rec_len, c->arena, s);
	if (err)
		return err;
	s->resource = lookup_shared(c, 0, e->resource_id, &err);
	if (!err)
		s->scope = lookup_shared(c, 1, e->scope_id, &err);
	if (err)
		return err;
	s->seq = seq;
	uint64_t ids[2] = { e->resource_id, e->scope_id };
	c->span_keys[c->n_spans] = tm_hash64(e->rec, e->rec_len) ^ tm_hash64(ids, sizeof(ids));
	c->n_spans++;
	return 0;
}

static int read_chunk(struct read_ctx *c, uint64_t seq, const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	unsigned char key[CHUNK_KEY_LEN];
	store_chunk_key(key, seq, trace_id);
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_get(c->txn, c->st->chunks, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -EBADMSG : store_errno(rc);
	struct chunk_header h;
	const unsigned char *body, *entries = NULL;
	size_t body_len, entries_len = 0;
	/* the entries land in the arena: the spans outlive the transaction */
	int err = store_chunk_parse_header(v.mv_data, v.mv_size, &h, &body, &body_len);
	if (!err)
		err = store_chunk_entries(body, body_len, c->arena, &entries, &entries_len);
	const unsigned char *p = entries, *end = entries + entries_len;
	struct chunk_entry e;
	while (!err && (err = store_chunk_next(&p, end, &e)) == 1)
		err = add_span(c, trace_id, seq, &e);
	return err;
}

static int span_start_cmp(const void *a, const void *b)
{
	const struct tm_span *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return memcmp(x->span_id, y->span_id, TM_SPAN_ID_LEN);
}

struct dup_key {
	uint64_t hash;
	size_t index;
};

static int dup_key_cmp(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* drops exact copies (same bytes, resource and scope), which client retries
 * produce, keeping the first stored (chunks are read oldest commit first);
 * sorting by content hash keeps this O(n log n) for huge traces. */
static int drop_duplicates(struct read_ctx *c, size_t *dropped)
{
	*dropped = 0;
	if (c->n_spans < 2)
		return 0;
	struct dup_key *keys = malloc(c->n_spans * sizeof(*keys));
	unsigned char *is_dup = calloc(c->n_spans, 1);
	if (!keys || !is_dup) {
		free(keys);
		free(is_dup);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_spans; i++)
		keys[i] = (struct dup_key){ c->span_keys[i], i };
	qsort(keys, c->n_spans, sizeof(*keys), dup_key_cmp);
	for (size_t i = 1; i < c->n_spans; i++) {
		const struct tm_span *a = &c->spans[keys[i - 1].index];
		const struct tm_span *b = &c->spans[keys[i].index];
		if (keys[i].hash == keys[i - 1].hash &&
		    !memcmp(a->span_id, b->span_id, TM_SPAN_ID_LEN))
			is_dup[keys[i].index] = 1;
	}
	size_t kept = 0;
	for (size_t i = 0; i < c->n_spans; i++)
		if (!is_dup[i])
			c->spans[kept++] = c->spans[i];
	*dropped = c->n_spans - kept;
	c->n_spans = kept;
	free(keys);
	free(is_dup);
	return 0;
}

static void summarize(const struct tm_span *spans, size_t n, struct tm_trace_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	const struct tm_span *best = NULL;
	sum->start_ns = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct tm_span *s = &spans[i];
		sum->span_count++;
		sum->error_count += s->status_code == TM_STATUS_ERROR;
		if (s->start_ns < sum->start_ns)
			sum->start_ns = s->start_ns;
		if (s->end_ns > sum->end_ns)
			sum->end_ns = s->end_ns;
		if (!best || (!s->has_parent && best->has_parent) ||
		    (!s->has_parent == !best->has_parent && s->start_ns < best->start_ns))
			best = s;
	}
	if (!best) {
		sum->start_ns = 0;
		return;
	}
	sum->has_root = !best->has_parent;
	sum->root_operation = best->name;
	const struct tm_str *svc = best->resource
		? tm_attrs_get_str(&best->resource->attrs, "service.name") : NULL;
	if (svc)
		sum->root_service = *svc;
}

int store_trace_read(struct tm_store *st, MDB_txn *txn,
		     const uint8_t trace_id[TM_TRACE_ID_LEN], struct tm_arena *arena,
		     struct tm_trace *out)
{
	memset(out, 0, sizeof(*out));
	struct read_ctx c = { .st = st, .txn = txn, .arena = arena };
	struct seq_list seqs = { 0 };
	int err = store_find_trace(st, c.txn, trace_id, &seqs);
	for (size_t i = 0; !err && i < seqs.n; i++)
		if (i == 0 || seqs.items[i] != seqs.items[i - 1])
			err = read_chunk(&c, seqs.items[i], trace_id);
	seq_list_free(&seqs);
	if (!err && c.n_spans == 0)
		err = -ENOENT;
	if (!err) {
		err = drop_duplicates(&c, &out->n_duplicates);
		out->spans = tm_arena_dup(arena, c.spans, c.n_spans * sizeof(*c.spans));
		if (!err && !out->spans)
			err = -ENOMEM;
	}
	if (!err) {
		memcpy(out->trace_id, trace_id, TM_TRACE_ID_LEN);
		out->n_spans = c.n_spans;
		qsort(out->spans, out->n_spans, sizeof(*out->spans), span_start_cmp);
		summarize(out->spans, out->n_spans, &out->summary);
	}
	free(c.spans);
	free(c.span_keys);
	free(c.res);
	free(c.scopes);
	return err;
}

int tm_store_trace_get(struct tm_store *st, const uint8_t trace_id[TM_TRACE_ID_LEN],
		       struct tm_arena *arena, struct tm_trace *out)
{
	MDB_txn *txn;
	int err = store_errno(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (err)
		return err;
	err = store_trace_read(st, txn, trace_id, arena, out);
	mdb_txn_abort(txn);
	return err;
}
