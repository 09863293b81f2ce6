/* store_check.c - verifying a whole store without changing it.
 *
 * One read snapshot, three linear passes: every chunk parses and its header
 * agrees with the spans it holds; every sealed chunk is named exactly once
 * by the trace index and every index entry names an existing chunk; the
 * store's counters agree with the chunks.  Cost is O(spans log spans), so it
 * also runs on stores of many millions of spans. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one stored span: which trace, which span, which bytes */
struct span_identity {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	uint64_t content_hash;
};

struct check_ctx {
	struct tm_store *st;
	MDB_txn *txn;
	struct store_state state;
	struct tm_store_check *out;
	struct span_identity *ids;
	size_t n_ids, cap_ids;
	uint64_t sealed_chunks;   /* chunks with seq <= sealed_through */
	struct tm_arena arena;
};

static void problem(struct check_ctx *c, const char *fmt, ...)
{
	if (c->out->problems++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->out->first_problem, sizeof(c->out->first_problem), fmt, ap);
		va_end(ap);
	}
}

static int add_identity(struct check_ctx *c, const uint8_t *trace_id,
			const struct tm_span *s, const struct chunk_entry *e)
{
	if (c->n_ids == c->cap_ids) {
		size_t cap = c->cap_ids ? c->cap_ids * 2 : 4096;
		struct span_identity *p = realloc(c->ids, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->ids = p;
		c->cap_ids = cap;
	}
	struct span_identity *id = &c->ids[c->n_ids++];
	memcpy(id->trace_id, trace_id, TM_TRACE_ID_LEN);
	memcpy(id->span_id, s->span_id, TM_SPAN_ID_LEN);
	uint64_t refs[2] = { e->resource_id, e->scope_id };
	id->content_hash = tm_hash64(e->rec, e->rec_len) ^ tm_hash64(refs, sizeof(refs));
	return 0;
}

/* the search index holds one slim and one search row per chunk, and the
 * slim row's summary is the chunk's */
static void check_piece_rows(struct check_ctx *c, const MDB_val *k, const struct chunk_header *h,
			     const char *hex)
{
	unsigned char key[PIECE_KEY_LEN];
	store_put_be32(key, (uint32_t)(h->min_start / TM_NS_PER_MINUTE));
	memcpy(key + 4, k->mv_data, CHUNK_KEY_LEN);
	MDB_val pk = { PIECE_KEY_LEN, key }, pv;
	if (mdb_get(c->txn, c->st->tsearch, &pk, &pv)) {
		problem(c, "trace %s: chunk has no search index row", hex);
		return;
	}
	if (mdb_get(c->txn, c->st->tpiece, &pk, &pv)) {
		problem(c, "trace %s: chunk has no summary index row", hex);
		return;
	}
	const unsigned char *p = pv.mv_data, *end = p + pv.mv_size;
	uint64_t start, dur, n, errors;
	if (p == end || *p++ != PIECE_VERSION || fixed64_get(&p, end, &start) < 0 ||
	    varint_get(&p, end, &dur) < 0 || varint_get(&p, end, &n) < 0 ||
	    varint_get(&p, end, &errors) < 0 || start != h->min_start ||
	    n != h->n_spans || errors != h->n_errors ||
	    (h->max_end >= h->min_start && start + dur != h->max_end))
		problem(c, "trace %s: summary index row disagrees with its chunk", hex);
}

/* the index tables hold nothing but the chunks' rows */
static int check_piece_counts(struct check_ctx *c)
{
	MDB_stat ps, ss;
	int rc = mdb_stat(c->txn, c->st->tpiece, &ps);
	if (!rc)
		rc = mdb_stat(c->txn, c->st->tsearch, &ss);
	if (rc)
		return store_errno(rc);
	if (ps.ms_entries != c->out->chunks || ss.ms_entries != c->out->chunks)
		problem(c, "index holds %llu summary and %llu search rows for %llu chunks",
			(unsigned long long)ps.ms_entries, (unsigned long long)ss.ms_entries,
			(unsigned long long)c->out->chunks);
	return 0;
}

/* decodes every span of a chunk and compares the header with them */
static int check_chunk(struct check_ctx *c, const MDB_val *k, const MDB_val *v)
{
	const uint8_t *trace_id = (const uint8_t *)k->mv_data + 8;
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(trace_id, TM_TRACE_ID_LEN, hex);
	struct chunk_header h;
	const unsigned char *body;
	size_t body_len;
	if (store_chunk_parse_header(v->mv_data, v->mv_size, &h, &body, &body_len)) {
		problem(c, "trace %s: chunk header does not parse", hex);
		return 0;
	}
	const unsigned char *entries;
	size_t entries_len;
	if (store_chunk_entries(body, body_len, &c->arena, &entries, &entries_len)) {
		problem(c, "trace %s: chunk body does not decompress", hex);
		tm_arena_clear(&c->arena);
		return 0;
	}
	const unsigned char *p = entries, *end = entries + entries_len;
	struct chunk_entry e;
	uint64_t n = 0, errors = 0, min_start = UINT64_MAX, max_end = 0;
	int rc = 0, err = 0;
	while (!err && (rc = store_chunk_next(&p, end, &e)) == 1) {
		struct tm_span s;
		memcpy(s.trace_id, trace_id, TM_TRACE_ID_LEN);
		if (tm_span_decode(e.rec, e.rec_len, &c->arena, &s)) {
			problem(c, "trace %s: span record does not decode", hex);
			continue;
		}
		n++;
		errors += s.status_code == TM_STATUS_ERROR;
		min_start = s.start_ns < min_start ? s.start_ns : min_start;
		max_end = s.end_ns > max_end ? s.end_ns : max_end;
		err = add_identity(c, trace_id, &s, &e);
	}
	tm_arena_clear(&c->arena);
	if (err)
		return err;
	if (rc < 0 || n != h.n_spans || errors != h.n_errors || min_start != h.min_start ||
	    max_end != h.max_end)
		problem(c, "trace %s: chunk summary disagrees with its %llu spans", hex,
			(unsigned long long)n);
	check_piece_rows(c, k, &h, hex);
	c->out->chunks++;
	c->out->spans += n;
	if (store_get_be64(k->mv_data) <= c->state.sealed_through)
		c->sealed_chunks++;
	return 0;
}

static int scan_chunks(struct check_ctx *c)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(c->txn, c->st->chunks, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k, v;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != CHUNK_KEY_LEN)
			problem(c, "chunk key of %zu bytes", k.mv_size);
		else
			err = check_chunk(c, &k, &v);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* every index entry must name existing chunks, each sealed chunk once */
static void check_index_entry(struct check_ctx *c, const MDB_val *k, const MDB_val *v,
			      uint64_t *refs)
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;
	uint64_t seq = store_get_be64(k->mv_data), prev = 0;
	while (p < end) {
		uint64_t d;
		if (varint_get(&p, end, &d)) {
			problem(c, "index entry with a corrupt commit list");
			return;
		}
		seq += d;
		unsigned char key[CHUNK_KEY_LEN];
		store_chunk_key(key, seq, (const uint8_t *)k->mv_data + 8);
		MDB_val ck = { sizeof(key), key }, cv;
		if ((prev && seq <= prev) || seq > c->state.sealed_through)
			problem(c, "index entry lists commit %llu out of order or unsealed",
				(unsigned long long)seq);
		else if (mdb_get(c->txn, c->st->chunks, &ck, &cv))
			problem(c, "index entry points at commit %llu, which lacks the trace",
				(unsigned long long)seq);
		prev = seq;
		(*refs)++;
	}
}

static int check_tindex(struct check_ctx *c)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(c->txn, c->st->tindex, &cur);
	if (rc)
		return store_errno(rc);
	MDB_val k, v;
	uint64_t refs = 0;
	unsigned char bucket[8] = { 0 };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 + TM_TRACE_ID_LEN) {
			problem(c, "index key of %zu bytes", k.mv_size);
			continue;
		}
		check_index_entry(c, &k, &v, &refs);
		/* a lookup probes only the buckets listed: each entry's must be */
		if (memcmp(bucket, k.mv_data, 8)) {
			memcpy(bucket, k.mv_data, 8);
			MDB_val bk = { 8, bucket }, bv;
			if (mdb_get(c->txn, c->st->buckets, &bk, &bv))
				problem(c, "index entry of bucket %llu, which is not listed",
					(unsigned long long)store_get_be64(bucket));
		}
	}
	mdb_cursor_close(cur);
	if (refs != c->sealed_chunks)
		problem(c, "index names %llu chunks, %llu sealed chunks exist",
			(unsigned long long)refs, (unsigned long long)c->sealed_chunks);
	return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static int identity_cmp(const void *a, const void *b)
{
	const struct span_identity *x = a, *y = b;
	int r = memcmp(x->trace_id, y->trace_id, TM_TRACE_ID_LEN);
	if (!r)
		r = memcmp(x->span_id, y->span_id, TM_SPAN_ID_LEN);
	if (!r && x->content_hash != y->content_hash)
		r = x->content_hash < y->content_hash ? -1 : 1;
	return r;
}

static void count_traces_and_duplicates(struct check_ctx *c)
{
	if (c->n_ids)   /* an empty store has no array: qsort wants one */
		qsort(c->ids, c->n_ids, sizeof(*c->ids), identity_cmp);
	for (size_t i = 0; i < c->n_ids; i++) {
		if (i == 0 || memcmp(c->ids[i].trace_id, c->ids[i - 1].trace_id, TM_TRACE_ID_LEN))
			c->out->traces++;
		else if (!identity_cmp(&c->ids[i], &c->ids[i - 1]))
			c->out->duplicate_spans++;
	}
}

int tm_store_check(struct tm_store *st, struct tm_store_check *out)
{
	memset(out, 0, sizeof(*out));
	struct check_ctx c = { .st = st, .out = out };
	tm_arena_init(&c.arena, 0);
	int rc = store_errno(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &c.txn));
	if (rc)
		return rc;
	rc = store_state_read(st, c.txn, &c.state);
	if (!rc)
		rc = scan_chunks(&c);
	if (!rc)
		rc = check_tindex(&c);
	if (!rc)
		rc = check_piece_counts(&c);
	if (!rc && c.state.spans != out->spans)
		problem(&c, "store counts %llu spans, chunks hold %llu",
			(unsigned long long)c.state.spans, (unsigned long long)out->spans);
	mdb_txn_abort(c.txn);
	if (!rc)
		count_traces_and_duplicates(&c);
	free(c.ids);
	tm_arena_clear(&c.arena);
	return rc;
}
