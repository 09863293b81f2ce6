/* store_read.c - reading a whole trace back. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* the stored form of a span read (the bytes are in the caller's arena) */
struct span_src {
	const unsigned char *rec;
	size_t rec_len;
	uint64_t resource_id, scope_id;
};

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
	struct span_src *srcs;   /* per span: its stored form, to recognise copies */
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

/* makes room for cap spans: the array is in the arena (it becomes the
 * answer, sorted in place), the stored forms beside it are scratch */
static int reserve_spans(struct read_ctx *c, size_t cap)
{
	if (cap <= c->cap_spans)
		return 0;
	struct tm_span *p = tm_arena_alloc(c->arena, cap * sizeof(*p));
	struct span_src *q = realloc(c->srcs, cap * sizeof(*q));
	if (q)
		c->srcs = q;
	if (!p || !q)
		return -ENOMEM;
	if (c->n_spans)
		memcpy(p, c->spans, c->n_spans * sizeof(*p));
	c->spans = p;
	c->cap_spans = cap;
	return 0;
}

static int add_span(struct read_ctx *c, const uint8_t trace_id[TM_TRACE_ID_LEN], uint64_t seq,
		    const struct chunk_entry *e)
{
	if (c->n_spans == c->cap_spans) {
		/* the chunk headers sized the array (read_chunks); only a
		 * trace past its bound or a header that undercounts gets here */
		int err = reserve_spans(c, c->cap_spans ? c->cap_spans * 2 : 64);
		if (err)
			return err;
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
	c->srcs[c->n_spans] = (struct span_src){ e->rec, e->rec_len, e->resource_id, e->scope_id };
	c->n_spans++;
	return 0;
}

/* one chunk of the trace: its header, and its coded entries (in the map:
 * valid while the transaction lives) */
struct chunk_ref {
	uint64_t seq;
	struct chunk_header h;
	const unsigned char *body;
	size_t body_len;
};

static int find_chunk(struct read_ctx *c, uint64_t seq, const uint8_t trace_id[TM_TRACE_ID_LEN],
		      struct chunk_ref *out)
{
	unsigned char key[CHUNK_KEY_LEN];
	store_chunk_key(key, seq, trace_id);
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_get(c->txn, c->st->chunks, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? -EBADMSG : store_errno(rc);
	out->seq = seq;
	return store_chunk_parse_header(v.mv_data, v.mv_size, &out->h, &out->body,
					&out->body_len);
}

static int read_chunk(struct read_ctx *c, const struct chunk_ref *ref,
		      const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	const unsigned char *entries = NULL;
	size_t entries_len = 0;
	/* the entries land in the arena: the spans outlive the transaction */
	int err = store_chunk_entries(ref->body, ref->body_len, c->arena, &entries, &entries_len);
	const unsigned char *p = entries, *end = entries + entries_len;
	struct chunk_entry e;
	while (!err && (err = store_chunk_next(&p, end, &e)) == 1)
		err = add_span(c, trace_id, ref->seq, &e);
	return err;
}

/* finds the trace's chunks, sizes the span array from their headers (so a
 * big trace is decoded straight into its final place; a header is trusted
 * only up to a bound, past which add_span grows the array) and decodes them */
static int read_chunks(struct read_ctx *c, const struct seq_list *seqs,
		       const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	enum { MAX_RESERVE = 1 << 20 };
	struct chunk_ref *refs = malloc((seqs->n ? seqs->n : 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	size_t n = 0;
	uint64_t total = 0;
	int err = 0;
	for (size_t i = 0; !err && i < seqs->n; i++) {
		if (i && seqs->items[i] == seqs->items[i - 1])
			continue;
		err = find_chunk(c, seqs->items[i], trace_id, &refs[n]);
		if (!err)
			total += refs[n++].h.n_spans;
	}
	if (!err)
		err = reserve_spans(c, total < MAX_RESERVE ? (size_t)total : MAX_RESERVE);
	for (size_t i = 0; !err && i < n; i++)
		err = read_chunk(c, &refs[i], trace_id);
	free(refs);
	return err;
}

/* a span's place in the answer: by start, then span ID, then the order it
 * was stored in (so the first stored of identical copies comes first) */
struct order_key {
	uint64_t start_ns;
	uint64_t span_id;   /* big-endian: compares as the bytes do */
	size_t index;
};

static int order_key_less(const struct order_key *x, const struct order_key *y)
{
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns;
	if (x->span_id != y->span_id)
		return x->span_id < y->span_id;
	return x->index < y->index;
}

/* merges the sorted runs a[lo, mid) and a[mid, hi) through tmp */
static void merge_keys(struct order_key *a, struct order_key *tmp, size_t lo, size_t mid,
		       size_t hi)
{
	if (!order_key_less(&a[mid], &a[mid - 1]))
		return;   /* already in order: spans mostly arrive near start order */
	size_t i = lo, j = mid, k = lo;
	while (i < mid && j < hi)
		tmp[k++] = order_key_less(&a[j], &a[i]) ? a[j++] : a[i++];
	while (i < mid)
		tmp[k++] = a[i++];
	memcpy(&a[lo], &tmp[lo], (j - lo) * sizeof(*a));   /* a[j, hi) is in place */
}

/* a bottom-up merge sort with the comparison inlined: qsort's callback was
 * 14% of reading a 10,000-span trace */
static int sort_keys(struct order_key *a, size_t n)
{
	enum { RUN = 16 };
	for (size_t lo = 0; lo < n; lo += RUN) {   /* insertion sort of short runs */
		size_t hi = lo + RUN < n ? lo + RUN : n;
		for (size_t i = lo + 1; i < hi; i++) {
			struct order_key v = a[i];
			size_t j = i;
			for (; j > lo && order_key_less(&v, &a[j - 1]); j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
	}
	if (n <= RUN)
		return 0;
	struct order_key *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t width = RUN; width < n; width *= 2)
		for (size_t lo = 0; lo + width < n; lo += 2 * width)
			merge_keys(a, tmp, lo, lo + width, lo + 2 * width < n ? lo + 2 * width : n);
	free(tmp);
	return 0;
}

static int same_stored_span(const struct span_src *a, const struct span_src *b)
{
	return a->rec_len == b->rec_len && a->resource_id == b->resource_id &&
	       a->scope_id == b->scope_id && !memcmp(a->rec, b->rec, a->rec_len);
}

struct hashed_pos {
	uint64_t hash;
	size_t pos;
};

static int hashed_pos_cmp(const void *a, const void *b)
{
	const struct hashed_pos *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* marks the copies in keys[lo, hi), a run of equal start and span ID, which
 * holds every copy of a span. Runs are a span or two (Zipkin's shared spans
 * are two); a client sending thousands of variants of one span must not make
 * this quadratic, so long runs are grouped by content hash. */
static int mark_copies(const struct read_ctx *c, const struct order_key *keys,
		       unsigned char *dropped, size_t lo, size_t hi)
{
	enum { SHORT_RUN = 8 };
	if (hi - lo <= SHORT_RUN) {
		for (size_t i = lo + 1; i < hi; i++)
			for (size_t j = lo; j < i && !dropped[i]; j++)
				dropped[i] = !dropped[j] && same_stored_span(&c->srcs[keys[j].index],
									     &c->srcs[keys[i].index]);
		return 0;
	}
	struct hashed_pos *h = malloc((hi - lo) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (size_t i = lo; i < hi; i++) {
		const struct span_src *src = &c->srcs[keys[i].index];
		uint64_t ids[2] = { src->resource_id, src->scope_id };
		h[i - lo] = (struct hashed_pos){
			tm_hash64(src->rec, src->rec_len) ^ tm_hash64(ids, sizeof(ids)), i };
	}
	qsort(h, hi - lo, sizeof(*h), hashed_pos_cmp);
	for (size_t g = 0, i = 1; i < hi - lo; i++) {   /* g: the first of a hash group */
		if (h[i].hash != h[g].hash)
			g = i;
		else
			dropped[h[i].pos] = same_stored_span(&c->srcs[keys[h[g].pos].index],
							     &c->srcs[keys[h[i].pos].index]);
	}
	free(h);
	return 0;
}

/* rearranges spans so that spans[k] = the old spans[from[k]]: from is a
 * permutation of [0, n), followed cycle by cycle with one span in hand */
static int permute_spans(struct tm_span *spans, const size_t *from, size_t n)
{
	unsigned char *done = calloc(n ? n : 1, 1);
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		struct tm_span held = spans[i];
		size_t j = i;
		for (;;) {
			done[j] = 1;
			if (from[j] == i) {
				spans[j] = held;
				break;
			}
			spans[j] = spans[from[j]];
			j = from[j];
		}
	}
	free(done);
	return 0;
}

/* sorts the spans (in the arena) by start and span ID, in place, and drops
 * exact copies (same bytes, resource and scope: client retries produce
 * them), keeping the first stored. Sorting small keys and moving each span
 * once: the spans are ~200 bytes each, and sorting them with qsort was half
 * of reading a 10,000-span trace. */
static int order_spans(struct read_ctx *c, struct tm_trace *out)
{
	size_t n = c->n_spans;
	struct order_key *keys = malloc(n * sizeof(*keys));
	unsigned char *dropped = calloc(n, 1);
	size_t *from = malloc(n * sizeof(*from));
	int err = keys && dropped && from ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		keys[i] = (struct order_key){ c->spans[i].start_ns,
					      store_get_be64(c->spans[i].span_id), i };
	if (!err)
		err = sort_keys(keys, n);
	for (size_t lo = 0, hi; !err && lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && keys[hi].start_ns == keys[lo].start_ns &&
				  keys[hi].span_id == keys[lo].span_id; hi++)
			;
		if (hi - lo > 1)
			err = mark_copies(c, keys, dropped, lo, hi);
	}
	size_t kept = 0, k = 0;
	if (!err) {
		for (size_t i = 0; i < n; i++)   /* the kept in order, then the copies */
			if (!dropped[i])
				from[kept++] = keys[i].index;
		k = kept;
		for (size_t i = 0; i < n; i++)
			if (dropped[i])
				from[k++] = keys[i].index;
		err = permute_spans(c->spans, from, n);
	}
	if (!err) {
		out->spans = c->spans;
		out->n_spans = kept;
		out->n_duplicates = n - kept;
	}
	free(keys);
	free(dropped);
	free(from);
	return err;
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
	if (!err)
		err = read_chunks(&c, &seqs, trace_id);
	seq_list_free(&seqs);
	if (!err && c.n_spans == 0)
		err = -ENOENT;
	if (!err)
		err = order_spans(&c, out);
	if (!err) {
		memcpy(out->trace_id, trace_id, TM_TRACE_ID_LEN);
		summarize(out->spans, out->n_spans, &out->summary);
	}
	free(c.srcs);
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
