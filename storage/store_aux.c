/* store_aux.c - the tables of derived data (service-map rollups and trace
 * profiles), written in the analysis thread's own transactions. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tm_aux_txn {
	struct tm_store *st;
	MDB_txn *txn;
};

static MDB_dbi table_dbi(struct tm_store *st, enum tm_aux_table t)
{
	return t == TM_AUX_PROFILES ? st->profiles : st->rollups;
}

int tm_store_aux_begin(struct tm_store *st, struct tm_aux_txn **out)
{
	*out = NULL;
	if (st->read_only)
		return -EROFS;
	struct tm_aux_txn *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->st = st;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, 0, &w->txn));
	if (rc) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int tm_store_aux_get(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen,
		     const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc = mdb_get(w->txn, table_dbi(w->st, t), &k, &v);
	if (rc)
		return store_errno(rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int tm_store_aux_put(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen,
		     const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	return store_errno(mdb_put(w->txn, table_dbi(w->st, t), &k, &v, 0));
}

int tm_store_aux_del(struct tm_aux_txn *w, enum tm_aux_table t, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int rc = mdb_del(w->txn, table_dbi(w->st, t), &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

int tm_store_aux_commit(struct tm_aux_txn *w, uint64_t through_seq)
{
	unsigned char buf[8];
	store_put_be64(buf, through_seq);
	MDB_val k = { sizeof(ANALYZED_KEY) - 1, (void *)ANALYZED_KEY }, v = { 8, buf };
	int rc = store_errno(mdb_put(w->txn, w->st->meta, &k, &v, 0));
	if (rc) {
		tm_store_aux_abort(w);
		return rc;
	}
	rc = store_errno(mdb_txn_commit(w->txn));
	free(w);
	return rc;
}

void tm_store_aux_abort(struct tm_aux_txn *w)
{
	if (!w)
		return;
	mdb_txn_abort(w->txn);
	free(w);
}

uint64_t tm_store_reader_analyzed_through(const struct tm_store_reader *rd)
{
	MDB_txn *txn = store_reader_txn((struct tm_store_reader *)rd);
	struct tm_store *st = store_reader_store((struct tm_store_reader *)rd);
	MDB_val k = { sizeof(ANALYZED_KEY) - 1, (void *)ANALYZED_KEY }, v;
	if (mdb_get(txn, st->meta, &k, &v) || v.mv_size != 8)
		return 0;
	return store_get_be64(v.mv_data);
}

struct tm_aux_iter {
	MDB_cursor *cur;
	unsigned char hi[512];
	size_t hilen;
	int started;
	MDB_val k, v;
	unsigned char lo[512];
	size_t lolen;
};

int tm_aux_iter_open(struct tm_store_reader *rd, enum tm_aux_table t, const void *lo,
		     size_t lolen, const void *hi, size_t hilen, struct tm_aux_iter **out)
{
	*out = NULL;
	if (lolen > 511 || hilen > 511)
		return -EINVAL;
	struct tm_aux_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	int rc = mdb_cursor_open(store_reader_txn(rd), table_dbi(store_reader_store(rd), t),
				 &it->cur);
	if (rc) {
		free(it);
		return store_errno(rc);
	}
	memcpy(it->lo, lo, lolen);
	it->lolen = lolen;
	memcpy(it->hi, hi, hilen);
	it->hilen = hilen;
	*out = it;
	return 0;
}

static int below_hi(const struct tm_aux_iter *it)
{
	size_t n = it->k.mv_size < it->hilen ? it->k.mv_size : it->hilen;
	int c = memcmp(it->k.mv_data, it->hi, n);
	return c < 0 || (c == 0 && it->k.mv_size < it->hilen);
}

int tm_aux_iter_next(struct tm_aux_iter *it, const void **key, size_t *klen, const void **val,
		     size_t *vlen)
{
	int rc;
	if (!it->started) {
		it->started = 1;
		it->k = (MDB_val){ it->lolen, it->lo };
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(it->cur, &it->k, &it->v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_errno(rc);
	if (!below_hi(it))
		return 0;
	*key = it->k.mv_data;
	*klen = it->k.mv_size;
	*val = it->v.mv_data;
	*vlen = it->v.mv_size;
	return 1;
}

void tm_aux_iter_close(struct tm_aux_iter *it)
{
	if (!it)
		return;
	mdb_cursor_close(it->cur);
	free(it);
}
