/* store_query.c - readers: names and the pieces of the search index. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tm_store_reader {
	struct tm_store *st;
	MDB_txn *txn;
	struct store_state state;
};

int tm_store_reader_begin(struct tm_store *st, struct tm_store_reader **out)
{
	*out = NULL;
	struct tm_store_reader *rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->st = st;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &rd->txn));
	if (!rc)
		rc = store_state_read(st, rd->txn, &rd->state);
	if (rc) {
		tm_store_reader_end(rd);
		return rc;
	}
	*out = rd;
	return 0;
}

void tm_store_reader_end(struct tm_store_reader *rd)
{
	if (!rd)
		return;
	if (rd->txn)
		mdb_txn_abort(rd->txn);
	free(rd);
}

int tm_store_reader_trace(struct tm_store_reader *rd, const uint8_t trace_id[TM_TRACE_ID_LEN],
			  struct tm_arena *arena, struct tm_trace *out)
{
	return store_trace_read(rd->st, rd->txn, trace_id, arena, out);
}

uint64_t tm_store_reader_max_spread(const struct tm_store_reader *rd)
{
	return rd->state.max_spread_ns;
}

uint64_t tm_store_reader_last_seq(const struct tm_store_reader *rd)
{
	return rd->state.last_seq;
}

MDB_txn *store_reader_txn(struct tm_store_reader *rd)
{
	return rd->txn;
}

struct tm_store *store_reader_store(struct tm_store_reader *rd)
{
	return rd->st;
}

/*---- names ----*/

struct name_list {
	struct tm_arena *arena;
	struct tm_name *items;
	size_t n, cap;
};

static int name_list_add(struct name_list *l, struct tm_name nm)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct tm_name *p = tm_arena_alloc(l->arena, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (l->n)
			memcpy(p, l->items, l->n * sizeof(*p));
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n++] = nm;
	return 0;
}

/* calls add() for every `names` key starting with prefix */
static int scan_prefix(struct tm_store_reader *rd, const unsigned char *prefix, size_t plen,
		       struct name_list *l)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(rd->txn, rd->st->names, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k = { plen, (void *)prefix }, v;
	int err = 0;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (!rc && !err && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)) {
		struct tm_name nm = { 0 };
		nm.id = v.mv_size == 4 ? store_get_be32(v.mv_data) : 0;
		nm.name.ptr = (const char *)k.mv_data + plen;
		nm.name.len = k.mv_size - plen;
		err = name_list_add(l, nm);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

int tm_store_services(struct tm_store_reader *rd, struct tm_arena *arena,
		      struct tm_name **out, size_t *n)
{
	unsigned char prefix[1] = { NAME_SERVICE };
	struct name_list l = { .arena = arena };
	int rc = scan_prefix(rd, prefix, 1, &l);
	*out = l.items;
	*n = l.n;
	return rc;
}

static int get_id(struct tm_store_reader *rd, char kind, struct tm_str name, uint32_t *id)
{
	unsigned char key[512];
	if (name.len + 1 > sizeof(key))
		return -ENOENT;
	key[0] = (unsigned char)kind;
	memcpy(key + 1, name.ptr, name.len);
	MDB_val k = { name.len + 1, key }, v;
	int rc = mdb_get(rd->txn, rd->st->names, &k, &v);
	if (rc)
		return store_errno(rc);
	if (v.mv_size != 4)
		return -EBADMSG;
	*id = store_get_be32(v.mv_data);
	return 0;
}

int tm_store_service_id(struct tm_store_reader *rd, struct tm_str name, uint32_t *id)
{
	return get_id(rd, NAME_SERVICE, name, id);
}

int tm_store_peer_id(struct tm_store_reader *rd, struct tm_str name, uint32_t *id)
{
	return get_id(rd, NAME_PEER, name, id);
}

int tm_store_operation_id(struct tm_store_reader *rd, uint32_t svc, uint8_t kind,
			  struct tm_str name, uint32_t *id)
{
	unsigned char key[512];
	if (name.len + 6 > sizeof(key))
		return -ENOENT;
	key[0] = NAME_OPERATION;
	store_put_be32(key + 1, svc);
	key[5] = kind;
	memcpy(key + 6, name.ptr, name.len);
	MDB_val k = { name.len + 6, key }, v;
	int rc = mdb_get(rd->txn, rd->st->names, &k, &v);
	if (rc)
		return store_errno(rc);
	if (v.mv_size != 4)
		return -EBADMSG;
	*id = store_get_be32(v.mv_data);
	return 0;
}

int tm_store_operations(struct tm_store_reader *rd, uint32_t svc, struct tm_arena *arena,
			struct tm_name **out, size_t *n)
{
	unsigned char prefix[5] = { NAME_OPERATION };
	store_put_be32(prefix + 1, svc);
	struct name_list l = { .arena = arena };
	int rc = scan_prefix(rd, prefix, 5, &l);
	/* the kind is the first byte after the prefix */
	for (size_t i = 0; i < l.n; i++) {
		l.items[i].kind = (uint8_t)l.items[i].name.ptr[0];
		l.items[i].name.ptr++;
		l.items[i].name.len--;
	}
	*out = l.items;
	*n = l.n;
	return rc;
}

int tm_store_remote_services(struct tm_store_reader *rd, uint32_t svc,
			     struct tm_arena *arena, struct tm_name **out, size_t *n)
{
	unsigned char prefix[5] = { NAME_CALLS };
	store_put_be32(prefix + 1, svc);
	struct name_list l = { .arena = arena };
	int rc = scan_prefix(rd, prefix, 5, &l);
	*out = l.items;
	*n = l.n;
	return rc;
}

int tm_store_name(struct tm_store_reader *rd, uint32_t id, struct tm_name *out)
{
	unsigned char key[4];
	store_put_be32(key, id);
	MDB_val k = { 4, key }, v;
	int rc = mdb_get(rd->txn, rd->st->nameids, &k, &v);
	if (rc)
		return store_errno(rc);
	const char *p = v.mv_data;
	size_t len = v.mv_size;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->space = len ? (uint8_t)p[0] : 0;
	if (len >= 1 && p[0] == NAME_OPERATION && len >= 6) {
		out->svc = store_get_be32((const unsigned char *)p + 1);
		out->kind = (uint8_t)p[5];
		out->name = (struct tm_str){ p + 6, len - 6 };
	} else if (len >= 1) {
		out->name = (struct tm_str){ p + 1, len - 1 };
	} else {
		return -EBADMSG;
	}
	return 0;
}

int tm_store_values(struct tm_store_reader *rd, struct tm_str key, struct tm_arena *arena,
		    struct tm_str **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	unsigned char prefix[258];
	if (key.len > 255)
		return 0;
	prefix[0] = NAME_VALUE;
	memcpy(prefix + 1, key.ptr, key.len);
	prefix[key.len + 1] = 0;
	struct name_list l = { .arena = arena };
	int rc = scan_prefix(rd, prefix, key.len + 2, &l);
	if (rc)
		return rc;
	struct tm_str *v = tm_arena_alloc(arena, (l.n ? l.n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < l.n; i++)
		v[i] = l.items[i].name;
	*out = v;
	*n = l.n;
	return 0;
}

/*---- pieces ----*/

struct tm_piece_iter {
	struct tm_store_reader *rd;
	MDB_cursor *cur;
	uint32_t lo, minute;
	int started, at_key;   /* at_key: the cursor is on a key not yet returned */
	MDB_val k, v;
	uint32_t *ids;
	size_t cap_ids;
	struct tm_piece_op *ops;
	size_t cap_ops;
	struct tm_piece_group *groups;
	size_t cap_groups;
};

int tm_piece_iter_open(struct tm_store_reader *rd, enum tm_piece_rows rows,
		       uint32_t from_minute, uint32_t to_minute, struct tm_piece_iter **out)
{
	*out = NULL;
	struct tm_piece_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->rd = rd;
	it->lo = from_minute;
	it->minute = to_minute;
	MDB_dbi dbi = rows == TM_PIECES_SEARCH ? rd->st->tsearch : rd->st->tpiece;
	int rc = mdb_cursor_open(rd->txn, dbi, &it->cur);
	if (rc) {
		free(it);
		return store_errno(rc);
	}
	*out = it;
	return 0;
}

void tm_piece_iter_close(struct tm_piece_iter *it)
{
	if (!it)
		return;
	mdb_cursor_close(it->cur);
	free(it->ids);
	free(it->ops);
	free(it->groups);
	free(it);
}

/* moves to the first key of the newest minute <= limit that holds rows;
 * returns 1, 0 when there is none at or above it->lo, or an error */
static int seek_minute_at_or_below(struct tm_piece_iter *it, uint64_t limit)
{
	unsigned char key[4];
	int rc;
	if (limit >= UINT32_MAX) {
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_LAST);
	} else {
		store_put_be32(key, (uint32_t)limit + 1);
		it->k = (MDB_val){ 4, key };
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_SET_RANGE);
		rc = rc == MDB_NOTFOUND ? mdb_cursor_get(it->cur, &it->k, &it->v, MDB_LAST)
					: mdb_cursor_get(it->cur, &it->k, &it->v, MDB_PREV);
	}
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_errno(rc);
	if (it->k.mv_size != PIECE_KEY_LEN)
		return -EBADMSG;
	uint32_t m = store_get_be32(it->k.mv_data);
	if (m < it->lo || m > limit)
		return 0;
	it->minute = m;
	store_put_be32(key, m);
	it->k = (MDB_val){ 4, key };
	rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_SET_RANGE);
	return rc ? store_errno(rc) : 1;
}

/* positions on the next row to return; 1, 0 at the end, or an error */
static int advance(struct tm_piece_iter *it)
{
	int rc;
	if (!it->started) {
		it->started = 1;
		rc = seek_minute_at_or_below(it, it->minute);
		if (rc <= 0)
			return rc;
	} else {
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_NEXT);
		if (rc && rc != MDB_NOTFOUND)
			return store_errno(rc);
		if (rc == 0 && it->k.mv_size == PIECE_KEY_LEN &&
		    store_get_be32(it->k.mv_data) == it->minute)
			return 1;
		if (it->minute == 0 || it->minute - 1 < it->lo)
			return 0;
		rc = seek_minute_at_or_below(it, it->minute - 1);
		if (rc <= 0)
			return rc;
	}
	return it->k.mv_size == PIECE_KEY_LEN ? 1 : -EBADMSG;
}

static int grow_array(void **items, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*items, ncap * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = ncap;
	return 0;
}

static int get_u32(const unsigned char **p, const unsigned char *end, uint32_t *out)
{
	uint64_t v;
	if (varint_get(p, end, &v) < 0 || v > UINT32_MAX)
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

/* reads a count followed by that many ids into it->ids starting at `at` */
static int get_ids(struct tm_piece_iter *it, const unsigned char **p, const unsigned char *end,
		   size_t at, size_t *n)
{
	uint64_t count;
	if (varint_get(p, end, &count) < 0 || count > (uint64_t)(end - *p))
		return -EBADMSG;
	if (grow_array((void **)&it->ids, &it->cap_ids, at + count, sizeof(uint32_t)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		if (get_u32(p, end, &it->ids[at + i]) < 0)
			return -EBADMSG;
	*n = (size_t)count;
	return 0;
}

static void key_parts(const MDB_val *k, uint32_t *minute, uint64_t *seq, uint8_t *trace_id)
{
	const unsigned char *p = k->mv_data;
	*minute = store_get_be32(p);
	*seq = store_get_be64(p + 4);
	memcpy(trace_id, p + 12, TM_TRACE_ID_LEN);
}

static int decode_piece(struct tm_piece_iter *it, struct tm_piece *out)
{
	const unsigned char *p = it->v.mv_data, *end = p + it->v.mv_size;
	uint64_t dur, root_off;
	memset(out, 0, sizeof(*out));
	key_parts(&it->k, &out->minute, &out->seq, out->trace_id);
	if (p == end || *p++ != PIECE_VERSION || fixed64_get(&p, end, &out->start_ns) < 0 ||
	    varint_get(&p, end, &dur) < 0 || varint_get(&p, end, &out->n_spans) < 0 ||
	    varint_get(&p, end, &out->n_errors) < 0 || p == end)
		return -EBADMSG;
	out->root_is_root = *p++ & 1;
	if (varint_get(&p, end, &root_off) < 0 || get_u32(&p, end, &out->root_svc) < 0 ||
	    get_u32(&p, end, &out->root_op) < 0)
		return -EBADMSG;
	out->end_ns = out->start_ns + dur;
	out->root_start_ns = out->start_ns + root_off;
	size_t n_svcs, n_ops;
	int rc = get_ids(it, &p, end, 0, &n_svcs);
	if (!rc)
		rc = get_ids(it, &p, end, n_svcs, &n_ops);
	if (rc)
		return rc;
	out->svcs = it->ids;
	out->n_svcs = n_svcs;
	out->ops = it->ids + n_svcs;
	out->n_ops = n_ops;
	return 0;
}

int tm_piece_iter_next(struct tm_piece_iter *it, struct tm_piece *out)
{
	int rc = advance(it);
	if (rc <= 0)
		return rc;
	rc = decode_piece(it, out);
	return rc ? rc : 1;
}

static int decode_op(const unsigned char **p, const unsigned char *end, uint64_t start,
		     struct tm_piece_op *op)
{
	uint64_t s0, s1;
	if (get_u32(p, end, &op->op) < 0 || varint_get(p, end, &op->min_dur_ns) < 0 ||
	    varint_get(p, end, &op->max_dur_ns) < 0 || varint_get(p, end, &s0) < 0 ||
	    varint_get(p, end, &s1) < 0 || *p == end)
		return -EBADMSG;
	op->min_start_ns = start + s0;
	op->max_start_ns = start + s1;
	op->has_error = *(*p)++ & 1;
	return 0;
}

/* group ops and peers are decoded into it->ops and it->ids; the pointers are
 * set once every group is read, as the arrays may move while they grow */
struct group_at {
	size_t ops, peers;
};

static int decode_group(struct tm_piece_iter *it, const unsigned char **p,
			const unsigned char *end, uint64_t start, struct tm_piece_group *g,
			size_t *n_ops_total, size_t *n_ids_total, struct group_at *at)
{
	uint64_t n_ops;
	if (get_u32(p, end, &g->svc) < 0 || (size_t)(end - *p) < TM_BLOOM_BYTES)
		return -EBADMSG;
	memcpy(g->bloom.w, *p, TM_BLOOM_BYTES);
	*p += TM_BLOOM_BYTES;
	if (varint_get(p, end, &n_ops) < 0 || n_ops > (uint64_t)(end - *p))
		return -EBADMSG;
	if (grow_array((void **)&it->ops, &it->cap_ops, *n_ops_total + n_ops, sizeof(*it->ops)))
		return -ENOMEM;
	at->ops = *n_ops_total;
	for (size_t i = 0; i < n_ops; i++)
		if (decode_op(p, end, start, &it->ops[*n_ops_total + i]) < 0)
			return -EBADMSG;
	g->n_ops = (size_t)n_ops;
	*n_ops_total += n_ops;
	at->peers = *n_ids_total;
	int rc = get_ids(it, p, end, *n_ids_total, &g->n_peers);
	*n_ids_total += g->n_peers;
	return rc;
}

int tm_piece_iter_next_search(struct tm_piece_iter *it, struct tm_search_piece *out)
{
	int rc = advance(it);
	if (rc <= 0)
		return rc;
	const unsigned char *p = it->v.mv_data, *end = p + it->v.mv_size;
	uint64_t n_groups;
	memset(out, 0, sizeof(*out));
	key_parts(&it->k, &out->minute, &out->seq, out->trace_id);
	if (p == end || *p++ != PIECE_VERSION || fixed64_get(&p, end, &out->start_ns) < 0 ||
	    varint_get(&p, end, &n_groups) < 0 || n_groups > (uint64_t)(end - p))
		return -EBADMSG;
	if (grow_array((void **)&it->groups, &it->cap_groups, n_groups + 1, sizeof(*it->groups)))
		return -ENOMEM;
	struct group_at at[64], *atp = at;
	struct group_at *big = NULL;
	if (n_groups > 64) {
		big = malloc(n_groups * sizeof(*big));
		if (!big)
			return -ENOMEM;
		atp = big;
	}
	size_t n_ops = 0, n_ids = 0;
	rc = 0;
	for (size_t i = 0; i < n_groups && !rc; i++)
		rc = decode_group(it, &p, end, out->start_ns, &it->groups[i], &n_ops, &n_ids,
				  &atp[i]);
	for (size_t i = 0; i < n_groups && !rc; i++) {
		it->groups[i].ops = it->ops + atp[i].ops;
		it->groups[i].peers = it->ids + atp[i].peers;
	}
	free(big);
	if (rc)
		return rc;
	out->groups = it->groups;
	out->n_groups = (size_t)n_groups;
	return 1;
}
