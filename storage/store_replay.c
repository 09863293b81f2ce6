/* store_replay.c - the span records of stored commits, rebuilt from the
 * chunks: what tm_store_on_commit() handed out when they were written. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct replay {
	struct tm_store *st;
	MDB_txn *txn;
	struct tm_arena arena;
	struct tm_span_rec *recs;
	size_t n, cap;
	/* the last resource seen and its service id: chunks of a commit
	 * mostly share a few resources */
	uint64_t res_id;
	uint32_t res_svc;
	int have_res;
};

static uint32_t name_id(struct replay *r, const unsigned char *key, size_t len)
{
	MDB_val k = { len, (void *)key }, v;
	if (mdb_get(r->txn, r->st->names, &k, &v) || v.mv_size != 4)
		return 0;
	return store_get_be32(v.mv_data);
}

static uint32_t plain_name_id(struct replay *r, char kind, struct tm_str name)
{
	unsigned char key[512];
	if (!name.len || name.len + 1 > sizeof(key))
		return 0;
	key[0] = (unsigned char)kind;
	memcpy(key + 1, name.ptr, name.len);
	return name_id(r, key, name.len + 1);
}

static uint32_t operation_id(struct replay *r, uint32_t svc, uint8_t kind, struct tm_str name)
{
	unsigned char key[512];
	if (name.len + 6 > sizeof(key))
		return 0;
	key[0] = NAME_OPERATION;
	store_put_be32(key + 1, svc);
	key[5] = kind;
	memcpy(key + 6, name.ptr, name.len);
	return name_id(r, key, name.len + 6);
}

static int service_of(struct replay *r, uint64_t res_id, uint32_t *svc)
{
	if (r->have_res && r->res_id == res_id) {
		*svc = r->res_svc;
		return 0;
	}
	unsigned char key[8];
	store_put_be64(key, res_id);
	MDB_val k = { 8, key }, v;
	int rc = mdb_get(r->txn, r->st->resources, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -EBADMSG : store_errno(rc);
	struct tm_resource res;
	rc = tm_resource_decode(v.mv_data, v.mv_size, &r->arena, &res);
	if (rc)
		return rc;
	const struct tm_str *name = tm_attrs_get_str(&res.attrs, "service.name");
	*svc = name ? plain_name_id(r, NAME_SERVICE, *name) : 0;
	r->have_res = 1;
	r->res_id = res_id;
	r->res_svc = *svc;
	return 0;
}

static int add_record(struct replay *r, uint64_t seq, const uint8_t *trace_id,
		      const struct chunk_entry *e)
{
	struct tm_span s;
	int rc = tm_span_decode(e->rec, e->rec_len, &r->arena, &s);
	uint32_t svc = 0;
	if (!rc)
		rc = service_of(r, e->resource_id, &svc);
	if (rc)
		return rc;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct tm_span_rec *p = realloc(r->recs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->recs = p;
		r->cap = cap;
	}
	memcpy(s.trace_id, trace_id, TM_TRACE_ID_LEN);
	struct tm_span_rec *out = &r->recs[r->n++];
	struct tm_str node;
	memset(out, 0, sizeof(*out));
	memcpy(out->trace_id, trace_id, TM_TRACE_ID_LEN);
	memcpy(out->span_id, s.span_id, TM_SPAN_ID_LEN);
	memcpy(out->parent_span_id, s.parent_span_id, TM_SPAN_ID_LEN);
	out->seq = seq;
	out->start_ns = s.start_ns;
	out->end_ns = s.end_ns;
	out->svc = svc;
	out->op = operation_id(r, svc, s.kind, s.name);
	out->node_kind = (uint8_t)tm_span_node(&s, &node);
	out->node = out->node_kind ? plain_name_id(r, NAME_PEER, node) : 0;
	out->http_status = (uint16_t)tm_span_http_status(&s);
	out->kind = s.kind;
	out->flags = (uint8_t)((s.status_code == TM_STATUS_ERROR ? TM_REC_ERROR : 0) |
			       (s.has_parent ? TM_REC_HAS_PARENT : 0) |
			       (tm_span_follows_from(&s) ? TM_REC_FOLLOWS_FROM : 0));
	return 0;
}

static int replay_chunk(struct replay *r, const MDB_val *k, const MDB_val *v)
{
	struct chunk_header h;
	const unsigned char *body, *entries;
	size_t body_len, entries_len;
	uint64_t seq = store_get_be64(k->mv_data);
	const uint8_t *trace_id = (const uint8_t *)k->mv_data + 8;
	int rc = store_chunk_parse_header(v->mv_data, v->mv_size, &h, &body, &body_len);
	if (!rc)
		rc = store_chunk_entries(body, body_len, &r->arena, &entries, &entries_len);
	const unsigned char *p = entries, *end = entries + entries_len;
	struct chunk_entry e;
	while (!rc && (rc = store_chunk_next(&p, end, &e)) == 1)
		rc = add_record(r, seq, trace_id, &e);
	return rc;
}

int tm_store_replay(struct tm_store_reader *rd, uint64_t from_seq, uint64_t to_seq,
		    tm_store_commit_fn fn, void *ctx)
{
	struct replay r = { .st = store_reader_store(rd), .txn = store_reader_txn(rd) };
	tm_arena_init(&r.arena, 0);
	MDB_cursor *cur;
	int rc = store_errno(mdb_cursor_open(r.txn, r.st->chunks, &cur));
	if (rc)
		return rc;
	unsigned char key[8];
	store_put_be64(key, from_seq);
	MDB_val k = { 8, key }, v;
	uint64_t seq = 0;
	int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (!rc && mrc == 0 && k.mv_size == CHUNK_KEY_LEN &&
	       (seq = store_get_be64(k.mv_data)) <= to_seq) {
		uint64_t this_seq = seq;
		while (!rc && mrc == 0 && k.mv_size == CHUNK_KEY_LEN &&
		       store_get_be64(k.mv_data) == this_seq) {
			rc = replay_chunk(&r, &k, &v);
			mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (!rc && r.n)
			fn(ctx, this_seq, r.recs, r.n);
		r.n = 0;
		r.have_res = 0;
		tm_arena_clear(&r.arena);
	}
	if (!rc && mrc && mrc != MDB_NOTFOUND)
		rc = store_errno(mrc);
	mdb_cursor_close(cur);
	free(r.recs);
	tm_arena_clear(&r.arena);
	return rc;
}
