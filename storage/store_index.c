/* store_index.c - finding a trace: sealed bucket indexes and open commits.
 *
 * Chunks are keyed commit-first, so writing never touches old pages.  To find
 * a trace again, every SEAL_MAX_COMMITS commits the writer seals a bucket:
 * it reads the keys of the bucket's chunks, sorts them by trace ID, and
 * appends one tindex entry per trace (bucket[8] trace_id[16] -> the commits
 * holding it).  A lookup does one exact seek per sealed bucket and one per
 * commit that is not sealed yet. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TINDEX_KEY_LEN (8 + TM_TRACE_ID_LEN)

void seq_list_free(struct seq_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static int seq_list_add(struct seq_list *l, uint64_t seq)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint64_t *p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n++] = seq;
	return 0;
}

/*---- sealing ----*/

struct seal_entry {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint64_t seq;
};

static int seal_entry_cmp(const void *a, const void *b)
{
	const struct seal_entry *x = a, *y = b;
	int c = memcmp(x->trace_id, y->trace_id, TM_TRACE_ID_LEN);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int collect_open_chunks(struct tm_store *st, MDB_txn *txn, uint64_t from_seq,
			       struct seal_entry **out, size_t *n_out)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->chunks, &cur);
	if (rc)
		return store_errno(rc);
	size_t n = 0, cap = 1024;
	struct seal_entry *e = malloc(cap * sizeof(*e));
	unsigned char start[CHUNK_KEY_LEN] = { 0 };
	store_put_be64(start, from_seq);
	MDB_val k = { sizeof(start), start }, v;
	for (rc = e ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : ENOMEM; rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != CHUNK_KEY_LEN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (n == cap) {
			struct seal_entry *p = realloc(e, 2 * cap * sizeof(*e));
			if (!p) {
				rc = ENOMEM;
				break;
			}
			e = p;
			cap *= 2;
		}
		e[n].seq = store_get_be64(k.mv_data);
		memcpy(e[n].trace_id, (unsigned char *)k.mv_data + 8, TM_TRACE_ID_LEN);
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		free(e);
		return store_errno(rc);
	}
	*out = e;
	*n_out = n;
	return 0;
}

static int write_tindex(struct tm_store *st, MDB_txn *txn, uint64_t bucket,
			const struct seal_entry *e, size_t n, uint64_t *n_traces)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->tindex, &cur);
	if (rc)
		return store_errno(rc);
	struct tm_buf val;
	tm_buf_init(&val);
	*n_traces = 0;
	for (size_t i = 0; i < n && !rc;) {
		val.len = 0;
		uint64_t prev = bucket;
		size_t j = i;
		for (; j < n && !memcmp(e[j].trace_id, e[i].trace_id, TM_TRACE_ID_LEN); j++) {
			varint_put(&val, e[j].seq - prev);   /* deltas: small */
			prev = e[j].seq;
		}
		if (val.failed) {
			rc = ENOMEM;
			break;
		}
		unsigned char key[TINDEX_KEY_LEN];
		store_put_be64(key, bucket);
		memcpy(key + 8, e[i].trace_id, TM_TRACE_ID_LEN);
		MDB_val k = { sizeof(key), key }, v = { val.len, val.data };
		rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
		(*n_traces)++;
		i = j;
	}
	tm_buf_free(&val);
	mdb_cursor_close(cur);
	return store_errno(rc);
}

int store_seal(struct tm_store *st, MDB_txn *txn, struct store_state *s)
{
	uint64_t bucket = s->sealed_through + 1;
	if (s->last_seq < bucket)
		return 0;
	struct seal_entry *e = NULL;
	size_t n = 0;
	int rc = collect_open_chunks(st, txn, bucket, &e, &n);
	if (rc)
		return rc;
	qsort(e, n, sizeof(*e), seal_entry_cmp);
	uint64_t n_traces = 0;
	rc = write_tindex(st, txn, bucket, e, n, &n_traces);
	free(e);
	if (rc)
		return rc;
	/* buckets: first seq -> last seq, trace count */
	unsigned char key[8], val[16];
	store_put_be64(key, bucket);
	store_put_be64(val, s->last_seq);
	store_put_be64(val + 8, n_traces);
	MDB_val k = { 8, key }, v = { 16, val };
	rc = store_errno(mdb_put(txn, st->buckets, &k, &v, MDB_APPEND));
	if (rc)
		return rc;
	s->sealed_through = s->last_seq;
	s->open_spans = 0;
	s->sealed_buckets++;
	return 0;
}

/*---- lookup ----*/

static int decode_seqs(const MDB_val *v, uint64_t bucket, struct seq_list *seqs)
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;
	uint64_t prev = bucket;
	while (p < end) {
		uint64_t d;
		if (varint_get(&p, end, &d))
			return -EBADMSG;
		prev += d;
		if (seq_list_add(seqs, prev) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int find_in_buckets(struct tm_store *st, MDB_txn *txn,
			   const uint8_t trace_id[TM_TRACE_ID_LEN], struct seq_list *seqs)
{
	MDB_cursor *bc;
	int rc = mdb_cursor_open(txn, st->buckets, &bc);
	if (rc)
		return store_errno(rc);
	MDB_val bk, bv;
	for (rc = mdb_cursor_get(bc, &bk, &bv, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(bc, &bk, &bv, MDB_NEXT)) {
		if (bk.mv_size != 8) {
			rc = MDB_CORRUPTED;
			break;
		}
		unsigned char key[TINDEX_KEY_LEN];
		memcpy(key, bk.mv_data, 8);
		memcpy(key + 8, trace_id, TM_TRACE_ID_LEN);
		MDB_val k = { sizeof(key), key }, v;
		int grc = mdb_get(txn, st->tindex, &k, &v);
		if (grc == MDB_NOTFOUND)
			continue;
		if (grc) {
			rc = grc;
			break;
		}
		int err = decode_seqs(&v, store_get_be64(bk.mv_data), seqs);
		if (err) {
			mdb_cursor_close(bc);
			return err;
		}
	}
	mdb_cursor_close(bc);
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

int store_find_trace(struct tm_store *st, MDB_txn *txn,
		     const uint8_t trace_id[TM_TRACE_ID_LEN], struct seq_list *seqs)
{
	struct store_state s;
	int rc = store_state_read(st, txn, &s);
	if (!rc)
		rc = find_in_buckets(st, txn, trace_id, seqs);
	for (uint64_t seq = s.sealed_through + 1; !rc && seq <= s.last_seq; seq++) {
		unsigned char key[CHUNK_KEY_LEN];
		store_chunk_key(key, seq, trace_id);
		MDB_val k = { sizeof(key), key }, v;
		int grc = mdb_get(txn, st->chunks, &k, &v);
		if (grc == 0)
			rc = seq_list_add(seqs, seq);
		else if (grc != MDB_NOTFOUND)
			rc = store_errno(grc);
	}
	return rc;
}

int store_bucket_of(struct tm_store *st, MDB_txn *txn, uint64_t seq, uint64_t *first,
		    uint64_t *last)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->buckets, &cur);
	if (rc)
		return store_errno(rc);
	unsigned char key[8];
	store_put_be64(key, seq);
	MDB_val k = { 8, key }, v;
	/* the bucket starting at seq, else the one before the next start */
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && store_get_be64(k.mv_data) != seq)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc)
		return store_errno(rc);
	if (k.mv_size != 8 || v.mv_size != 16)
		return -EBADMSG;
	*first = store_get_be64(k.mv_data);
	*last = store_get_be64(v.mv_data);
	return *first <= seq && seq <= *last ? 0 : -ENOENT;
}
