/* store_retention.c - deleting old traces from the front of the store.
 *
 * Chunks are keyed commit first, so the oldest data is the front of the
 * `chunks` tree.  One step plans in a read transaction (which chunks to
 * delete: the old front pieces and, for each of their traces, the later
 * pieces, found through the trace index), then deletes them and every row
 * that names them in one short write transaction: chunk, `tpiece` and
 * `tsearch` rows, the trace's commit in its `tindex` entry; then buckets
 * and commit times left empty at the front, and service-map rows older than
 * every span still stored.  Planning does the many seeks without holding
 * LMDB's write lock; deleting re-reads everything it changes, so a commit
 * (or seal) made between the two is never undone. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STEP_PIECES 256
/* the later pieces of a trace are looked for in the commits made within
 * this long after the piece that made it old: the search index assumes the
 * same hour (docs/storage.md) */
#define TRACE_HORIZON_NS (3600ull * 1000000000ull)
/* rows of the other tables one step deletes at most */
#define STEP_AUX_ROWS 1024
#define STEP_COMMIT_ROWS 4096

struct victim {
	uint64_t seq;
	uint8_t trace_id[TM_TRACE_ID_LEN];
};

struct plan {
	struct tm_store *st;
	MDB_txn *txn;
	struct store_state s;
	struct victim *v;       /* the pieces of one trace are adjacent */
	size_t n, cap;
	uint64_t *open_times;   /* commit times of seqs sealed_through+1 ... */
	size_t n_open;
	int more;
};

/*---- planning (read transaction) ----*/

static uint64_t commit_time(struct plan *p, uint64_t seq)
{
	if (seq > p->s.sealed_through && seq - p->s.sealed_through - 1 < p->n_open)
		return p->open_times[seq - p->s.sealed_through - 1];
	unsigned char key[8];
	store_put_be64(key, seq);
	MDB_val k = { 8, key }, v;
	if (mdb_get(p->txn, p->st->commits, &k, &v) || v.mv_size != 8)
		return 0;   /* unknown: as old as can be */
	return store_get_be64(v.mv_data);
}

static int load_open_times(struct plan *p)
{
	uint64_t n = p->s.last_seq - p->s.sealed_through;
	p->open_times = calloc(n ? (size_t)n : 1, sizeof(*p->open_times));
	if (!p->open_times)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		unsigned char key[8];
		store_put_be64(key, p->s.sealed_through + 1 + i);
		MDB_val k = { 8, key }, v;
		if (!mdb_get(p->txn, p->st->commits, &k, &v) && v.mv_size == 8)
			p->open_times[i] = store_get_be64(v.mv_data);
	}
	p->n_open = (size_t)n;
	return 0;
}

/* adds a piece of the trace whose pieces start at index from */
static int plan_add(struct plan *p, size_t from, uint64_t seq, const uint8_t *trace_id)
{
	for (size_t i = from; i < p->n; i++)
		if (p->v[i].seq == seq)
			return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 512;
		struct victim *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].seq = seq;
	memcpy(p->v[p->n].trace_id, trace_id, TM_TRACE_ID_LEN);
	p->n++;
	return 0;
}

static int plan_has_trace(const struct plan *p, const uint8_t *trace_id)
{
	for (size_t i = p->n; i-- > 0;)
		if (!memcmp(p->v[i].trace_id, trace_id, TM_TRACE_ID_LEN))
			return 1;
	return 0;
}

/* the commits of bucket `first` that hold the trace, from its index entry */
static int add_bucket_entry(struct plan *p, size_t from, uint64_t first, const uint8_t *trace_id)
{
	unsigned char key[8 + TM_TRACE_ID_LEN];
	store_put_be64(key, first);
	memcpy(key + 8, trace_id, TM_TRACE_ID_LEN);
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_get(p->txn, p->st->tindex, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
	const unsigned char *q = v.mv_data, *end = q + v.mv_size;
	uint64_t seq = first;
	while (q < end && !rc) {
		uint64_t d;
		if (varint_get(&q, end, &d))
			return -EBADMSG;
		seq += d;
		rc = plan_add(p, from, seq, trace_id);
	}
	return rc;
}

/* sealed buckets after `after` that began within the horizon */
static int add_later_buckets(struct plan *p, size_t from, uint64_t after, uint64_t horizon,
			     const uint8_t *trace_id)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(p->txn, p->st->buckets, &cur);
	if (rc)
		return store_errno(rc);
	unsigned char start[8];
	store_put_be64(start, after + 1);
	MDB_val k = { 8, start }, v;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			err = -EBADMSG;
			break;
		}
		uint64_t first = store_get_be64(k.mv_data);
		if (commit_time(p, first) > horizon)
			break;
		err = add_bucket_entry(p, from, first, trace_id);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static int add_open_pieces(struct plan *p, size_t from, uint64_t seq, uint64_t horizon,
			   const uint8_t *trace_id)
{
	for (; seq <= p->s.last_seq; seq++) {
		if (commit_time(p, seq) > horizon)
			break;
		unsigned char key[CHUNK_KEY_LEN];
		store_chunk_key(key, seq, trace_id);
		MDB_val k = { sizeof(key), key }, v;
		int rc = mdb_get(p->txn, p->st->chunks, &k, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc)
			return store_errno(rc);
		if ((rc = plan_add(p, from, seq, trace_id)) < 0)
			return rc;
	}
	return 0;
}

/* the whole trace whose oldest piece is (seq0, trace_id) */
static int add_trace(struct plan *p, uint64_t seq0, const uint8_t *trace_id)
{
	size_t from = p->n;
	uint64_t horizon = commit_time(p, seq0) + TRACE_HORIZON_NS;
	int rc = plan_add(p, from, seq0, trace_id);
	uint64_t open_from = seq0 + 1;
	if (!rc && seq0 <= p->s.sealed_through) {
		uint64_t first, last;
		rc = store_bucket_of(p->st, p->txn, seq0, &first, &last);
		if (!rc)
			rc = add_bucket_entry(p, from, first, trace_id);
		if (!rc)
			rc = add_later_buckets(p, from, last, horizon, trace_id);
		else if (rc == -ENOENT)
			rc = 0;   /* not indexed: nothing more to find there */
		open_from = p->s.sealed_through + 1;
	}
	if (!rc)
		rc = add_open_pieces(p, from, open_from, horizon, trace_id);
	return rc;
}

static int plan_front(struct plan *p, const struct tm_retention_req *req, size_t max)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(p->txn, p->st->chunks, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k, v;
	uint64_t cur_seq = 0;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != CHUNK_KEY_LEN) {
			err = -EBADMSG;
			break;
		}
		uint64_t seq = store_get_be64(k.mv_data);
		if (seq != cur_seq) {
			cur_seq = seq;
			if (!req->evict && commit_time(p, seq) >= req->cutoff_ns)
				break;
		}
		if (p->n >= max) {
			p->more = 1;
			break;
		}
		const uint8_t *trace_id = (const uint8_t *)k.mv_data + 8;
		if (!plan_has_trace(p, trace_id))
			err = add_trace(p, seq, trace_id);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static int make_plan(struct plan *p, const struct tm_retention_req *req)
{
	int rc = store_errno(mdb_txn_begin(p->st->env, NULL, MDB_RDONLY, &p->txn));
	if (rc)
		return rc;
	rc = store_state_read(p->st, p->txn, &p->s);
	if (!rc)
		rc = load_open_times(p);
	if (!rc)
		rc = plan_front(p, req, req->max_pieces ? req->max_pieces : DEFAULT_STEP_PIECES);
	mdb_txn_abort(p->txn);
	p->txn = NULL;
	return rc;
}

/*---- deleting (write transaction) ----*/

static int put_bucket_traces(struct tm_store *st, MDB_txn *txn, uint64_t first, int64_t delta)
{
	unsigned char key[8], val[16];
	store_put_be64(key, first);
	MDB_val k = { 8, key }, v;
	int rc = mdb_get(txn, st->buckets, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
	if (v.mv_size != 16)
		return -EBADMSG;
	memcpy(val, v.mv_data, 16);
	uint64_t n = store_get_be64(val + 8);
	store_put_be64(val + 8, delta < 0 && n < (uint64_t)-delta ? 0 : n + (uint64_t)delta);
	MDB_val nv = { 16, val };
	return store_errno(mdb_put(txn, st->buckets, &k, &nv, 0));
}

/* takes seq out of the trace's index entry in its bucket */
static int unindex(struct tm_store *st, MDB_txn *txn, uint64_t seq, const uint8_t *trace_id)
{
	uint64_t first, last;
	int rc = store_bucket_of(st, txn, seq, &first, &last);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	unsigned char key[8 + TM_TRACE_ID_LEN];
	store_put_be64(key, first);
	memcpy(key + 8, trace_id, TM_TRACE_ID_LEN);
	MDB_val k = { sizeof(key), key }, v;
	rc = mdb_get(txn, st->tindex, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
	struct tm_buf out;
	tm_buf_init(&out);
	const unsigned char *q = v.mv_data, *end = q + v.mv_size;
	uint64_t at = first, prev = first;
	while (q < end) {
		uint64_t d;
		if (varint_get(&q, end, &d)) {
			tm_buf_free(&out);
			return -EBADMSG;
		}
		at += d;
		if (at != seq) {
			varint_put(&out, at - prev);
			prev = at;
		}
	}
	if (out.failed)
		rc = -ENOMEM;
	else if (out.len == 0) {
		rc = store_errno(mdb_del(txn, st->tindex, &k, NULL));
		if (!rc)
			rc = put_bucket_traces(st, txn, first, -1);
	} else {
		MDB_val nv = { out.len, out.data };
		rc = store_errno(mdb_put(txn, st->tindex, &k, &nv, 0));
	}
	tm_buf_free(&out);
	return rc;
}

static int del_ignoring_absent(MDB_txn *txn, MDB_dbi dbi, MDB_val *k)
{
	int rc = mdb_del(txn, dbi, k, NULL);
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static uint64_t sub_floor(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* deletes one chunk and its rows; *gone is 1 when it was there */
static int delete_piece(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			const struct victim *vi, uint64_t *spans, int *gone)
{
	unsigned char key[CHUNK_KEY_LEN];
	store_chunk_key(key, vi->seq, vi->trace_id);
	MDB_val k = { sizeof(key), key }, v;
	*gone = 0;
	int rc = mdb_get(txn, st->chunks, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
	struct chunk_header h;
	const unsigned char *body;
	size_t body_len;
	if (store_chunk_parse_header(v.mv_data, v.mv_size, &h, &body, &body_len))
		return -EBADMSG;
	unsigned char pkey[PIECE_KEY_LEN];
	store_put_be32(pkey, (uint32_t)(h.min_start / TM_NS_PER_MINUTE));
	memcpy(pkey + 4, key, CHUNK_KEY_LEN);
	MDB_val pk = { sizeof(pkey), pkey };
	rc = store_errno(mdb_del(txn, st->chunks, &k, NULL));
	if (!rc)
		rc = del_ignoring_absent(txn, st->tpiece, &pk);
	if (!rc)
		rc = del_ignoring_absent(txn, st->tsearch, &pk);
	if (!rc && vi->seq <= s->sealed_through)
		rc = unindex(st, txn, vi->seq, vi->trace_id);
	else if (!rc)
		s->open_spans = sub_floor(s->open_spans, h.n_spans);
	s->spans = sub_floor(s->spans, h.n_spans);
	s->chunks = sub_floor(s->chunks, 1);
	*spans = h.n_spans;
	*gone = 1;
	return rc;
}

/* the seq of the oldest chunk, or last_seq + 1 when there is none */
static int front_seq(struct tm_store *st, MDB_txn *txn, const struct store_state *s,
		     uint64_t *out)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->chunks, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*out = s->last_seq + 1;
		return 0;
	}
	if (rc)
		return store_errno(rc);
	*out = store_get_be64(k.mv_data);
	return 0;
}

/* deletes the rows of dbi whose keys begin with prefix (a bucket's
 * leftover index rows: there should be none) */
static int del_prefix(MDB_txn *txn, MDB_dbi dbi, const unsigned char *prefix, size_t len)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return store_errno(rc);
	for (;;) {
		MDB_val k = { len, (void *)prefix }, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size < len || memcmp(k.mv_data, prefix, len))
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* buckets whose every commit is before the front: nothing left in them */
static int drop_empty_buckets(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			      uint64_t front)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->buckets, &cur);
	if (rc)
		return store_errno(rc);
	for (;;) {
		MDB_val k, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc || k.mv_size != 8 || v.mv_size != 16 || store_get_be64(v.mv_data) >= front)
			break;
		unsigned char prefix[8];
		memcpy(prefix, k.mv_data, 8);
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		s->sealed_buckets = sub_floor(s->sealed_buckets, 1);
		int err = del_prefix(txn, st->tindex, prefix, sizeof(prefix));
		if (err) {
			mdb_cursor_close(cur);
			return err;
		}
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* commit times of commits before the front: no chunk needs them */
static int drop_commit_times(struct tm_store *st, MDB_txn *txn, uint64_t front)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->commits, &cur);
	if (rc)
		return store_errno(rc);
	for (int i = 0; !rc && i < STEP_COMMIT_ROWS; i++) {
		MDB_val k, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc || k.mv_size != 8 || store_get_be64(k.mv_data) >= front)
			break;
		rc = mdb_cursor_del(cur, 0);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/*---- service-map rows (their keys begin with time: store.h) ----*/

/* the minute of the earliest span start still stored: the first tpiece row */
static int earliest_minute(struct tm_store *st, MDB_txn *txn, uint32_t *out)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->tpiece, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	mdb_cursor_close(cur);
	if (rc)
		return store_errno(rc);
	if (k.mv_size != PIECE_KEY_LEN)
		return -EBADMSG;
	*out = store_get_be32(k.mv_data);
	return 0;
}

/* deletes the first rows of a table while below(key) says they are old */
static int drop_front_rows(MDB_txn *txn, MDB_dbi dbi, const unsigned char *from, size_t from_len,
			   int (*is_old)(const MDB_val *k, uint32_t cut), uint32_t cut,
			   uint64_t *budget)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return store_errno(rc);
	while (*budget) {
		MDB_val k = { from_len, (void *)from }, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc || !is_old(&k, cut))
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
		(*budget)--;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static int rollup_is_old(const MDB_val *k, uint32_t cut, unsigned char res, uint32_t minutes)
{
	const unsigned char *p = k->mv_data;
	if (k->mv_size < 5 || p[0] != res)
		return 0;
	return ((uint64_t)store_get_be32(p + 1) + 1) * minutes <= cut;
}

static int minute_rollup_is_old(const MDB_val *k, uint32_t cut)
{
	return rollup_is_old(k, cut, 'm', 1);
}

static int ten_rollup_is_old(const MDB_val *k, uint32_t cut)
{
	return rollup_is_old(k, cut, 't', 10);
}

static int hour_rollup_is_old(const MDB_val *k, uint32_t cut)
{
	return rollup_is_old(k, cut, 'h', 60);
}

static int profile_is_old(const MDB_val *k, uint32_t cut)
{
	return k->mv_size >= 4 && store_get_be32(k->mv_data) < cut;
}

static int drop_old_aux(struct tm_store *st, MDB_txn *txn, uint64_t *deleted)
{
	uint32_t cut = 0;
	int rc = earliest_minute(st, txn, &cut);
	if (rc)
		return rc == -ENOENT ? 0 : rc;   /* nothing stored: nothing to measure age by */
	uint64_t budget = STEP_AUX_ROWS;
	static const unsigned char m0[5] = { 'm' }, t0[5] = { 't' }, h0[5] = { 'h' };
	static const unsigned char p0[4] = { 0 };
	rc = drop_front_rows(txn, st->rollups, m0, 5, minute_rollup_is_old, cut, &budget);
	if (!rc)
		rc = drop_front_rows(txn, st->rollups, t0, 5, ten_rollup_is_old, cut, &budget);
	if (!rc)
		rc = drop_front_rows(txn, st->rollups, h0, 5, hour_rollup_is_old, cut, &budget);
	if (!rc)
		rc = drop_front_rows(txn, st->profiles, p0, 4, profile_is_old, cut, &budget);
	*deleted = STEP_AUX_ROWS - budget;
	return rc;
}

/*---- one step ----*/

static int apply_plan(struct tm_store *st, const struct plan *p, struct tm_retention_result *out)
{
	MDB_txn *txn;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, 0, &txn));
	if (rc)
		return rc;
	struct store_state s;
	rc = store_state_read(st, txn, &s);
	for (size_t i = 0; i < p->n && !rc; i++) {
		uint64_t spans = 0;
		int gone;
		rc = delete_piece(st, txn, &s, &p->v[i], &spans, &gone);
		out->pieces += (uint64_t)gone;
		out->spans += spans;
		/* a trace's pieces are adjacent in the plan */
		if (gone && (i == 0 || memcmp(p->v[i].trace_id, p->v[i - 1].trace_id,
					      TM_TRACE_ID_LEN)))
			out->traces++;
	}
	uint64_t front = 0;
	if (!rc)
		rc = front_seq(st, txn, &s, &front);
	if (!rc)
		rc = drop_empty_buckets(st, txn, &s, front);
	if (!rc)
		rc = drop_commit_times(st, txn, front);
	if (!rc)
		rc = drop_old_aux(st, txn, &out->aux_rows);
	if (!rc)
		rc = store_state_write(st, txn, &s);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_errno(mdb_txn_commit(txn));
}

static void count_step(struct tm_store *st, const struct tm_retention_req *req,
		       const struct tm_retention_result *r)
{
	atomic_fetch_add(&st->ret_steps, 1);
	atomic_fetch_add(&st->ret_traces, r->traces);
	atomic_fetch_add(&st->ret_pieces, r->pieces);
	atomic_fetch_add(&st->ret_spans, r->spans);
	atomic_fetch_add(&st->ret_aux_rows, r->aux_rows);
	if (req->evict)
		atomic_fetch_add(&st->ret_evicted_traces, r->traces);
}

int tm_store_retention_step(struct tm_store *st, const struct tm_retention_req *req,
			    struct tm_retention_result *out)
{
	memset(out, 0, sizeof(*out));
	if (st->read_only)
		return -EROFS;
	pthread_mutex_lock(&st->retention_lock);
	struct plan p = { .st = st };
	int rc = make_plan(&p, req);
	if (!rc && p.n)   /* else no write transaction (and no sync) at all */
		rc = apply_plan(st, &p, out);
	if (rc)
		memset(out, 0, sizeof(*out));   /* nothing of it was deleted */
	out->more = p.more;
	free(p.v);
	free(p.open_times);
	if (!rc)
		count_step(st, req, out);
	pthread_mutex_unlock(&st->retention_lock);
	return rc;
}

void tm_store_retention_stats(struct tm_store *st, struct tm_retention_stats *out)
{
	out->steps = atomic_load(&st->ret_steps);
	out->traces = atomic_load(&st->ret_traces);
	out->pieces = atomic_load(&st->ret_pieces);
	out->spans = atomic_load(&st->ret_spans);
	out->aux_rows = atomic_load(&st->ret_aux_rows);
	out->evicted_traces = atomic_load(&st->ret_evicted_traces);
}
