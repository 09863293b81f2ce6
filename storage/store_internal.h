/* store_internal.h - what the store's own files share; never used outside storage/. */
#ifndef TM_STORE_INTERNAL_H
#define TM_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 3
#define CHUNK_VERSION 1
#define CHUNK_KEY_LEN (8 + TM_TRACE_ID_LEN)

/* a bucket of commits is sealed (indexed by trace ID) once it holds this
 * many commits or spans; until then its commits are probed one by one. */
#define SEAL_MAX_COMMITS 256
#define SEAL_MAX_SPANS (2u << 20)

/* writer-side cache of resource/scope ids already in the store */
#define INTERN_CACHE_SIZE 4096

struct store_state {
	uint64_t last_seq;         /* newest commit */
	uint64_t last_name_id;     /* ids of names (store_names.c) */
	uint64_t max_spread_ns;    /* widest span-start spread of any piece */
	uint64_t sealed_through;   /* commits <= this are in sealed buckets */
	uint64_t open_spans;       /* spans in commits after sealed_through */
	uint64_t spans;
	uint64_t chunks;
	uint64_t sealed_buckets;
};

struct intern_slot {
	uint64_t hash;
	uint64_t id;
	uint8_t used;
};

/* name kinds: the first byte of a `names` key */
enum {
	NAME_SERVICE = 'S',     /* name -> id */
	NAME_OPERATION = 'O',   /* service id[4] kind[1] name -> id */
	NAME_PEER = 'P',        /* remote service name -> id */
	NAME_CALLS = 'R',       /* service id[4] peer name -> (nothing) */
	NAME_VALUE = 'V',       /* key NUL value -> (nothing) */
};

#define NAME_CACHE_SLOTS (1u << 16)
#define STORE_MAX_VALUES_PER_KEY 1000

struct name_slot {
	unsigned char *key;   /* kind + payload, malloc'd; NULL = empty */
	uint32_t len;
	uint32_t id;
	uint64_t hash;
};

struct name_cache {
	struct name_slot slots[NAME_CACHE_SLOTS];
	size_t used;
};

/* the search index keys: minute[4] seq[8] trace_id[16] */
#define PIECE_KEY_LEN (4 + 8 + TM_TRACE_ID_LEN)
#define PIECE_VERSION 1

/* what the writer knows of one span of a trace group */
struct piece_span {
	uint32_t svc, op, peer, node;
	uint32_t ref;          /* index into the group's refs */
};

struct tm_store {
	MDB_env *env;
	MDB_dbi meta, chunks, tindex, buckets, resources, scopes, commits;
	MDB_dbi names, nameids, tpiece, tsearch, rollups, profiles;
	int read_only;
	/* writer thread only: */
	struct intern_slot res_cache[INTERN_CACHE_SIZE];
	struct intern_slot scope_cache[INTERN_CACHE_SIZE];
	struct tm_buf chunk_buf;
	struct tm_buf entries_buf;   /* a chunk's span entries before compression */
	struct tm_buf row_buf;       /* index rows */
	struct piece_span *pspans;
	size_t cap_pspans;
	struct name_cache names_cache;
	/* span records of the commit being written, for on_commit */
	tm_store_commit_fn on_commit;
	void *on_commit_ctx;
	struct tm_span_rec *recs;
	size_t n_recs, cap_recs;
	uint32_t value_counts[TM_BATCH_MAX_VALUE_KEYS];
	/* retention (store_retention.c): one step at a time, any thread */
	pthread_mutex_t retention_lock;
	_Atomic uint64_t clock_offset_ns;
	_Atomic uint64_t ret_steps, ret_traces, ret_pieces, ret_spans, ret_aux_rows;
	_Atomic uint64_t ret_evicted_traces;
};

/* one span of a group commit, with the ids its batch's blobs got */
struct span_ref {
	const struct tm_batch *batch;
	const struct tm_batch_span *span;
	const uint64_t *res_ids;
	const uint64_t *scope_ids;
	const uint32_t *svc_ids;   /* service name id of each resource */
	size_t order;   /* arrival order, to keep the sort stable */
};

/* LMDB code -> negative errno, the only place LMDB codes are translated. */
int store_errno(int mdb_rc);

void store_put_be64(unsigned char *p, uint64_t v);
uint64_t store_get_be64(const unsigned char *p);
void store_put_be32(unsigned char *p, uint32_t v);
uint32_t store_get_be32(const unsigned char *p);

/* names (store_names.c); ids are 0 for a name too long to index */
int store_intern_service(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			 struct tm_str name, uint32_t *id);
int store_intern_operation(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			   uint32_t svc, uint8_t kind, struct tm_str name, uint32_t *id);
int store_intern_peer(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      uint32_t svc, struct tm_str name, uint32_t *id);
/* a service-map node name (the peers' id space) */
int store_intern_node(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      struct tm_str name, uint32_t *id);
int store_note_value(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		     uint32_t key_index, struct tm_str key, struct tm_str value);
void store_names_clear(struct tm_store *st);
int store_names_load(struct tm_store *st, MDB_txn *txn);

/* a reader's transaction and store, for the other readers of storage/ */
MDB_txn *store_reader_txn(struct tm_store_reader *rd);
struct tm_store *store_reader_store(struct tm_store_reader *rd);

/* the meta key of how far the analysis got */
#define ANALYZED_KEY "analyzed"

/* writes the search rows of one trace group (store_pieces.c) */
int store_write_pieces(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		       uint64_t seq, const struct span_ref *refs, size_t n);
void store_chunk_key(unsigned char key[CHUNK_KEY_LEN], uint64_t seq,
		     const uint8_t trace_id[TM_TRACE_ID_LEN]);

/* the store's clock: wall clock plus the test offset */
uint64_t store_now(struct tm_store *st);

/* the bucket holding a sealed commit: its first and last seq; -ENOENT when
 * no bucket holds it */
int store_bucket_of(struct tm_store *st, MDB_txn *txn, uint64_t seq, uint64_t *first,
		    uint64_t *last);

int store_state_read(struct tm_store *st, MDB_txn *txn, struct store_state *out);
int store_state_write(struct tm_store *st, MDB_txn *txn, const struct store_state *s);

/* the summary every chunk carries for the spans in it */
struct chunk_header {
	uint64_t n_spans;
	uint64_t n_errors;
	uint64_t min_start;
	uint64_t max_end;
	int has_candidate;        /* root candidate present */
	int candidate_is_root;
	uint64_t candidate_start;
	struct tm_str candidate_service;
	struct tm_str candidate_name;
};

/* parses a chunk header; body and body_len receive the (coded) span entries. */
int store_chunk_parse_header(const unsigned char *p, size_t len,
			     struct chunk_header *h,
			     const unsigned char **body, size_t *body_len);

/* chunk bodies are compressed when that makes them smaller */
enum chunk_codec { CHUNK_RAW = 0, CHUNK_LZ4 = 1 };

/* turns a chunk body (from store_chunk_parse_header) into its span entries,
 * decompressing into the arena.  Returns 0, -EBADMSG or -ENOMEM. */
int store_chunk_entries(const unsigned char *body, size_t body_len, struct tm_arena *arena,
			const unsigned char **entries, size_t *entries_len);

/* walks the span entries of a chunk; returns 1 with the next entry,
 * 0 at the end, -EBADMSG when corrupt. */
struct chunk_entry {
	uint64_t resource_id;
	uint64_t scope_id;
	const unsigned char *rec;
	size_t rec_len;
};
int store_chunk_next(const unsigned char **p, const unsigned char *end,
		     struct chunk_entry *e);

/* seals the open commits into a bucket; called inside the write txn. */
int store_seal(struct tm_store *st, MDB_txn *txn, struct store_state *s);

/* appends to *seqs the commits that hold spans of trace_id, oldest first. */
struct seq_list {
	uint64_t *items;
	size_t n, cap;
};
int store_find_trace(struct tm_store *st, MDB_txn *txn,
		     const uint8_t trace_id[TM_TRACE_ID_LEN], struct seq_list *seqs);
void seq_list_free(struct seq_list *l);

/* tm_store_trace_get() inside a transaction the caller owns. */
int store_trace_read(struct tm_store *st, MDB_txn *txn,
		     const uint8_t trace_id[TM_TRACE_ID_LEN], struct tm_arena *arena,
		     struct tm_trace *out);

#endif
