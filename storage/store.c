/* store.c - opening the LMDB environment, group-commit writes, reading traces. */
#include "store_internal.h"
#include "varint.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE (1ull << 40)   /* 1 TiB of address space, not disk */

/*---- small helpers ----*/

int store_errno(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_BAD_TXN:
		return -EIO;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return -EPROTO;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_DBS_FULL:
	case MDB_MAP_RESIZED:
		return -EINVAL;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

const char *tm_store_strerror(int err)
{
	switch (err) {
	case -ENOSPC:
		return "store is full (LMDB map or disk)";
	case -EBADMSG:
		return "store holds a record that does not decode";
	case -EPROTO:
		return "not a tracemap store, or a store of another version";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

void store_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

uint64_t store_get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void store_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t store_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void store_chunk_key(unsigned char key[CHUNK_KEY_LEN], uint64_t seq,
		     const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	store_put_be64(key, seq);
	memcpy(key + 8, trace_id, TM_TRACE_ID_LEN);
}

uint64_t store_now(struct tm_store *st)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
	       atomic_load_explicit(&st->clock_offset_ns, memory_order_relaxed);
}

uint64_t tm_store_now(struct tm_store *st)
{
	return store_now(st);
}

void tm_store_set_clock_offset(struct tm_store *st, uint64_t offset_ns)
{
	atomic_store_explicit(&st->clock_offset_ns, offset_ns, memory_order_relaxed);
}

/*---- state record ----*/

#define STATE_FIELDS 8

static const MDB_val STATE_KEY = { 5, (void *)"state" };
static const MDB_val VERSION_KEY = { 7, (void *)"version" };

int store_state_read(struct tm_store *st, MDB_txn *txn, struct store_state *out)
{
	MDB_val v;
	memset(out, 0, sizeof(*out));
	int rc = mdb_get(txn, st->meta, (MDB_val *)&STATE_KEY, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_errno(rc);
	if (v.mv_size != STATE_FIELDS * 8)
		return -EBADMSG;
	const unsigned char *p = v.mv_data;
	out->last_seq = store_get_be64(p);
	out->sealed_through = store_get_be64(p + 8);
	out->open_spans = store_get_be64(p + 16);
	out->spans = store_get_be64(p + 24);
	out->chunks = store_get_be64(p + 32);
	out->sealed_buckets = store_get_be64(p + 40);
	out->last_name_id = store_get_be64(p + 48);
	out->max_spread_ns = store_get_be64(p + 56);
	return 0;
}

int store_state_write(struct tm_store *st, MDB_txn *txn, const struct store_state *s)
{
	unsigned char buf[STATE_FIELDS * 8];
	store_put_be64(buf, s->last_seq);
	store_put_be64(buf + 8, s->sealed_through);
	store_put_be64(buf + 16, s->open_spans);
	store_put_be64(buf + 24, s->spans);
	store_put_be64(buf + 32, s->chunks);
	store_put_be64(buf + 40, s->sealed_buckets);
	store_put_be64(buf + 48, s->last_name_id);
	store_put_be64(buf + 56, s->max_spread_ns);
	MDB_val v = { sizeof(buf), buf };
	return store_errno(mdb_put(txn, st->meta, (MDB_val *)&STATE_KEY, &v, 0));
}

/*---- open and close ----*/

static int open_dbis(struct tm_store *st)
{
	MDB_txn *txn;
	unsigned flags = st->read_only ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(st->env, NULL, st->read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		return store_errno(rc);
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{ "meta", &st->meta },           { "chunks", &st->chunks },
		{ "tindex", &st->tindex },       { "buckets", &st->buckets },
		{ "resources", &st->resources }, { "scopes", &st->scopes },
		{ "commits", &st->commits },
		{ "names", &st->names },         { "nameids", &st->nameids },
		{ "tpiece", &st->tpiece },       { "tsearch", &st->tsearch },
		{ "rollups", &st->rollups },     { "profiles", &st->profiles },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && !rc; i++)
		rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);
	if (!rc)
		rc = MDB_SUCCESS;
	if (rc) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? -EPROTO : store_errno(rc);
	}
	MDB_val v;
	uint32_t version = STORE_SCHEMA_VERSION;
	rc = mdb_get(txn, st->meta, (MDB_val *)&VERSION_KEY, &v);
	if (rc == MDB_NOTFOUND && !st->read_only) {
		MDB_val nv = { sizeof(version), &version };
		rc = mdb_put(txn, st->meta, (MDB_val *)&VERSION_KEY, &nv, 0);
	} else if (rc == 0 && (v.mv_size != sizeof(version) ||
			       memcmp(v.mv_data, &version, sizeof(version)))) {
		mdb_txn_abort(txn);
		return -EPROTO;
	}
	if (rc) {
		mdb_txn_abort(txn);
		return store_errno(rc);
	}
	if (!st->read_only && (rc = store_names_load(st, txn)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_errno(mdb_txn_commit(txn));
}

int tm_store_open(const struct tm_store_options *opt, struct tm_store **out)
{
	*out = NULL;
	if (!opt->read_only && mkdir(opt->dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (access(opt->dir, opt->read_only ? R_OK : R_OK | W_OK) < 0)
		return -errno;
	struct tm_store *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->read_only = opt->read_only;
	pthread_mutex_init(&st->retention_lock, NULL);
	tm_buf_init(&st->chunk_buf);
	tm_buf_init(&st->entries_buf);
	tm_buf_init(&st->row_buf);
	unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
	if (opt->sync == TM_SYNC_NONE)
		flags |= MDB_NOSYNC;
	if (opt->read_only)
		flags |= MDB_RDONLY;
	int rc = mdb_env_create(&st->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(st->env, 16);
	if (!rc)
		rc = mdb_env_set_maxreaders(st->env, 1024);
	if (!rc)
		rc = mdb_env_set_mapsize(st->env, opt->map_size ? opt->map_size
								  : DEFAULT_MAP_SIZE);
	if (!rc)
		rc = mdb_env_open(st->env, opt->dir, flags, 0640);
	int err = store_errno(rc);
	if (!err)
		err = open_dbis(st);
	if (err) {
		tm_store_close(st);
		return err;
	}
	*out = st;
	return 0;
}

void tm_store_close(struct tm_store *st)
{
	if (!st)
		return;
	if (st->env)
		mdb_env_close(st->env);
	tm_buf_free(&st->chunk_buf);
	tm_buf_free(&st->entries_buf);
	tm_buf_free(&st->row_buf);
	store_names_clear(st);
	free(st->pspans);
	free(st->recs);
	pthread_mutex_destroy(&st->retention_lock);
	free(st);
}

/*---- chunk format ----*/

static int get_str(const unsigned char **p, const unsigned char *end, struct tm_str *s)
{
	uint64_t n;
	if (varint_get(p, end, &n) < 0 || (uint64_t)(end - *p) < n)
		return -EBADMSG;
	s->ptr = (const char *)*p;
	s->len = (size_t)n;
	*p += n;
	return 0;
}

int store_chunk_parse_header(const unsigned char *p, size_t len, struct chunk_header *h,
			     const unsigned char **body, size_t *body_len)
{
	const unsigned char *end = p + len;
	memset(h, 0, sizeof(*h));
	if (len < 1 || *p++ != CHUNK_VERSION)
		return -EBADMSG;
	if (varint_get(&p, end, &h->n_spans) || varint_get(&p, end, &h->n_errors) ||
	    fixed64_get(&p, end, &h->min_start) || fixed64_get(&p, end, &h->max_end) || p >= end)
		return -EBADMSG;
	unsigned flag = *p++;
	if (flag > 2)
		return -EBADMSG;
	h->has_candidate = flag != 0;
	h->candidate_is_root = flag == 1;
	if (h->has_candidate &&
	    (fixed64_get(&p, end, &h->candidate_start) ||
	     get_str(&p, end, &h->candidate_service) || get_str(&p, end, &h->candidate_name)))
		return -EBADMSG;
	*body = p;
	*body_len = (size_t)(end - p);
	return 0;
}

int store_chunk_next(const unsigned char **p, const unsigned char *end, struct chunk_entry *e)
{
	if (*p == end)
		return 0;
	uint64_t n;
	if (fixed64_get(p, end, &e->resource_id) || fixed64_get(p, end, &e->scope_id) ||
	    varint_get(p, end, &n) || (uint64_t)(end - *p) < n)
		return -EBADMSG;
	e->rec = *p;
	e->rec_len = (size_t)n;
	*p += n;
	return 1;
}

/* a chunk larger than this after decompression is corrupt, not data */
#define MAX_CHUNK_ENTRIES_BYTES (1u << 30)

int store_chunk_entries(const unsigned char *p, size_t len, struct tm_arena *arena,
			const unsigned char **entries, size_t *entries_len)
{
	const unsigned char *end = p + len;
	uint64_t raw_len;
	if (len < 1 || *p > CHUNK_LZ4)
		return -EBADMSG;
	unsigned codec = *p++;
	if (varint_get(&p, end, &raw_len) || raw_len > MAX_CHUNK_ENTRIES_BYTES)
		return -EBADMSG;
	unsigned char *out = tm_arena_alloc(arena, raw_len ? (size_t)raw_len : 1);
	if (!out)
		return -ENOMEM;
	if (codec == CHUNK_RAW) {
		if ((uint64_t)(end - p) != raw_len)
			return -EBADMSG;
		memcpy(out, p, (size_t)raw_len);
	} else if (LZ4_decompress_safe((const char *)p, (char *)out, (int)(end - p),
				       (int)raw_len) != (int)raw_len) {
		return -EBADMSG;
	}
	*entries = out;
	*entries_len = (size_t)raw_len;
	return 0;
}

/* appends the entries in the smaller of raw and LZ4 form */
static void put_entries(struct tm_buf *out, const struct tm_buf *entries)
{
	int bound = LZ4_compressBound((int)entries->len);
	size_t start = out->len;
	unsigned char codec = CHUNK_LZ4;
	tm_buf_add(out, &codec, 1);
	varint_put(out, entries->len);
	unsigned char *dst = tm_buf_reserve(out, (size_t)bound);
	if (!dst)
		return;
	int n = LZ4_compress_default((const char *)entries->data, (char *)dst,
				     (int)entries->len, bound);
	if (n > 0 && (size_t)n < entries->len) {
		out->len += (size_t)n;
		return;
	}
	out->len = start;   /* incompressible: store as is */
	codec = CHUNK_RAW;
	tm_buf_add(out, &codec, 1);
	varint_put(out, entries->len);
	tm_buf_add(out, entries->data, entries->len);
}

/* the span that names a trace: a root before a non-root, then the earliest */
static int candidate_better(int is_root, uint64_t start, int best_is_root, uint64_t best_start)
{
	if (is_root != best_is_root)
		return is_root;
	return start < best_start;
}

/*---- writing ----*/


static int span_ref_cmp(const void *a, const void *b)
{
	const struct span_ref *x = a, *y = b;
	int c = memcmp(x->span->trace_id, y->span->trace_id, TM_TRACE_ID_LEN);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* stores blob once under an id derived from its hash; equal blobs share it */
static int intern_blob(MDB_txn *txn, MDB_dbi dbi, struct intern_slot *cache,
		       const struct tm_blob *blob, uint64_t *id_out)
{
	struct intern_slot *slot = &cache[blob->hash & (INTERN_CACHE_SIZE - 1)];
	if (slot->used && slot->hash == blob->hash) {
		*id_out = slot->id;
		return 0;
	}
	for (uint64_t id = blob->hash;; id++) {
		unsigned char key[8];
		store_put_be64(key, id);
		MDB_val k = { 8, key }, v;
		int rc = mdb_get(txn, dbi, &k, &v);
		if (rc == MDB_NOTFOUND) {
			v.mv_size = blob->len;
			v.mv_data = (void *)blob->data;
			rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
		} else if (rc == 0 && (v.mv_size != blob->len ||
				       memcmp(v.mv_data, blob->data, blob->len))) {
			continue;   /* a different blob with the same hash: probe on */
		}
		if (rc)
			return store_errno(rc);
		slot->used = 1;
		slot->hash = blob->hash;
		slot->id = id;
		*id_out = id;
		return 0;
	}
}

static int intern_batch(struct tm_store *st, MDB_txn *txn, const struct tm_batch *b,
			uint64_t *res_ids, uint64_t *scope_ids)
{
	int rc = 0;
	for (size_t i = 0; i < b->n_resources && !rc; i++)
		rc = intern_blob(txn, st->resources, st->res_cache, &b->resources[i], &res_ids[i]);
	for (size_t i = 0; i < b->n_scopes && !rc; i++)
		rc = intern_blob(txn, st->scopes, st->scope_cache, &b->scopes[i], &scope_ids[i]);
	return rc;
}

static void chunk_build(struct tm_buf *out, struct tm_buf *entries,
			const struct span_ref *refs, size_t n)
{
	uint64_t errors = 0, min_start = UINT64_MAX, max_end = 0;
	const struct span_ref *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct tm_batch_span *s = refs[i].span;
		errors += s->is_error;
		if (s->start_ns < min_start)
			min_start = s->start_ns;
		if (s->end_ns > max_end)
			max_end = s->end_ns;
		if (!best || candidate_better(s->is_root, s->start_ns, best->span->is_root,
					      best->span->start_ns))
			best = &refs[i];
	}
	out->len = 0;
	unsigned char version = CHUNK_VERSION;
	tm_buf_add(out, &version, 1);
	varint_put(out, n);
	varint_put(out, errors);
	fixed64_put(out, min_start);
	fixed64_put(out, max_end);
	unsigned char flag = best->span->is_root ? 1 : 2;
	tm_buf_add(out, &flag, 1);
	fixed64_put(out, best->span->start_ns);
	struct tm_str svc = best->batch->services[best->span->resource];
	varint_put(out, svc.len);
	tm_buf_add(out, svc.ptr, svc.len);
	varint_put(out, best->span->name.len);
	tm_buf_add(out, best->span->name.ptr, best->span->name.len);
	entries->len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tm_batch_span *s = refs[i].span;
		fixed64_put(entries, refs[i].res_ids[s->resource]);
		fixed64_put(entries, refs[i].scope_ids[s->scope]);
		varint_put(entries, s->rec_len);
		tm_buf_add(entries, s->rec, s->rec_len);
	}
	if (entries->failed)
		out->failed = 1;
	else
		put_entries(out, entries);
}

static int write_chunks(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			uint64_t seq, struct span_ref *refs, size_t n)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->chunks, &cur);
	if (rc)
		return store_errno(rc);
	for (size_t i = 0; i < n && !rc;) {
		size_t j = i + 1;
		while (j < n && !memcmp(refs[j].span->trace_id, refs[i].span->trace_id,
					TM_TRACE_ID_LEN))
			j++;
		chunk_build(&st->chunk_buf, &st->entries_buf, refs + i, j - i);
		if (st->chunk_buf.failed) {
			tm_buf_free(&st->chunk_buf);
			tm_buf_free(&st->entries_buf);
			rc = ENOMEM;
			break;
		}
		unsigned char key[CHUNK_KEY_LEN];
		store_chunk_key(key, seq, refs[i].span->trace_id);
		MDB_val k = { sizeof(key), key };
		MDB_val v = { st->chunk_buf.len, st->chunk_buf.data };
		/* keys rise within a commit and seq rises across commits */
		rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
		s->chunks++;
		if (!rc) {
			int err = store_write_pieces(st, txn, s, seq, refs + i, j - i);
			if (err) {
				mdb_cursor_close(cur);
				return err;
			}
		}
		i = j;
	}
	mdb_cursor_close(cur);
	return store_errno(rc);
}

static int write_commit_time(struct tm_store *st, MDB_txn *txn, uint64_t seq)
{
	unsigned char key[8], val[8];
	store_put_be64(key, seq);
	store_put_be64(val, store_now(st));
	MDB_val k = { 8, key }, v = { 8, val };
	return store_errno(mdb_put(txn, st->commits, &k, &v, MDB_APPEND));
}

/* collects every span of the group with its interned ids, sorted by trace */
/* names the services of a batch's resources, and notes its autocomplete values */
static int intern_names(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			const struct tm_batch *b, uint32_t *svc_ids)
{
	int rc = 0;
	for (size_t i = 0; i < b->n_resources && !rc; i++)
		rc = store_intern_service(st, txn, s, b->services[i], &svc_ids[i]);
	const char *const *keys;
	size_t n_keys = tm_batch_value_keys(&keys);
	for (size_t i = 0; i < b->n_values && !rc; i++) {
		const struct tm_batch_value *v = &b->values[i];
		if (v->key < n_keys)
			rc = store_note_value(st, txn, s, v->key, tm_str_from(keys[v->key]),
					      v->text);
	}
	return rc;
}

static int gather(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		  struct tm_batch *const *batches, size_t n, struct span_ref **refs_out,
		  size_t *n_refs, uint64_t **ids_out)
{
	size_t total = 0, n_ids = 0, n_res = 0;
	for (size_t i = 0; i < n; i++) {
		total += batches[i]->n_spans;
		n_ids += batches[i]->n_resources + batches[i]->n_scopes;
		n_res += batches[i]->n_resources;
	}
	struct span_ref *refs = malloc((total ? total : 1) * sizeof(*refs));
	/* one allocation: blob ids, then service ids */
	uint64_t *ids = malloc((n_ids ? n_ids : 1) * sizeof(*ids) +
			       (n_res ? n_res : 1) * sizeof(uint32_t));
	if (!refs || !ids) {
		free(refs);
		free(ids);
		return -ENOMEM;
	}
	uint32_t *svc_all = (uint32_t *)(ids + (n_ids ? n_ids : 1));
	size_t k = 0, at = 0, at_svc = 0;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct tm_batch *b = batches[i];
		uint64_t *res_ids = ids + at, *scope_ids = ids + at + b->n_resources;
		uint32_t *svc_ids = svc_all + at_svc;
		at += b->n_resources + b->n_scopes;
		at_svc += b->n_resources;
		rc = intern_batch(st, txn, b, res_ids, scope_ids);
		if (!rc)
			rc = intern_names(st, txn, s, b, svc_ids);
		for (size_t j = 0; j < b->n_spans; j++, k++)
			refs[k] = (struct span_ref){ b, &b->spans[j], res_ids, scope_ids,
						     svc_ids, k };
	}
	if (rc) {
		free(refs);
		free(ids);
		return rc;
	}
	qsort(refs, total, sizeof(*refs), span_ref_cmp);
	*refs_out = refs;
	*n_refs = total;
	*ids_out = ids;
	return 0;
}

int tm_store_write(struct tm_store *st, struct tm_batch *const *batches, size_t n)
{
	if (st->read_only)
		return -EROFS;
	MDB_txn *txn;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, 0, &txn));
	if (rc)
		return rc;
	struct store_state s;
	struct span_ref *refs = NULL;
	uint64_t *ids = NULL;
	size_t n_refs = 0;
	st->n_recs = 0;
	rc = store_state_read(st, txn, &s);
	if (!rc)
		rc = gather(st, txn, &s, batches, n, &refs, &n_refs, &ids);
	if (!rc && n_refs) {
		s.last_seq++;
		rc = write_chunks(st, txn, &s, s.last_seq, refs, n_refs);
		if (!rc)
			rc = write_commit_time(st, txn, s.last_seq);
		s.spans += n_refs;
		s.open_spans += n_refs;
	}
	if (!rc && (s.last_seq - s.sealed_through >= SEAL_MAX_COMMITS ||
		    s.open_spans >= SEAL_MAX_SPANS))
		rc = store_seal(st, txn, &s);
	if (!rc && n_refs)
		rc = store_state_write(st, txn, &s);
	free(refs);
	free(ids);
	if (!rc) {
		rc = store_errno(mdb_txn_commit(txn));
		if (!rc && st->on_commit && st->n_recs)
			st->on_commit(st->on_commit_ctx, s.last_seq, st->recs, st->n_recs);
		return rc;
	}
	mdb_txn_abort(txn);
	/* the caches may name ids written by the aborted transaction */
	memset(st->res_cache, 0, sizeof(st->res_cache));
	memset(st->scope_cache, 0, sizeof(st->scope_cache));
	store_names_clear(st);
	return rc;
}

void tm_store_on_commit(struct tm_store *st, tm_store_commit_fn fn, void *ctx)
{
	st->on_commit = fn;
	st->on_commit_ctx = ctx;
}

int tm_store_stats(struct tm_store *st, struct tm_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	MDB_txn *txn;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (rc)
		return rc;
	struct store_state s;
	rc = store_state_read(st, txn, &s);
	MDB_envinfo info;
	MDB_stat env_stat;
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &env_stat);
	mdb_txn_abort(txn);
	out->spans = s.spans;
	out->chunks = s.chunks;
	out->commits = s.last_seq;
	out->sealed_buckets = s.sealed_buckets;
	out->open_commits = s.last_seq - s.sealed_through;
	out->map_size = info.me_mapsize;
	out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * env_stat.ms_psize;
	return rc;
}
