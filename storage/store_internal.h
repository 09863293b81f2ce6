/* store_internal.h - what the store's own files share; never used outside storage/. */
#ifndef TM_STORE_INTERNAL_H
#define TM_STORE_INTERNAL_H

#include <lmdb.h>
#include <stdint.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 1
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

struct tm_store {
	MDB_env *env;
	MDB_dbi meta, chunks, tindex, buckets, resources, scopes, commits;
	int read_only;
	/* writer thread only: */
	struct intern_slot res_cache[INTERN_CACHE_SIZE];
	struct intern_slot scope_cache[INTERN_CACHE_SIZE];
	struct tm_buf chunk_buf;
	struct tm_buf entries_buf;   /* a chunk's span entries before compression */
};

/* LMDB code -> negative errno, the only place LMDB codes are translated. */
int store_errno(int mdb_rc);

void store_put_be64(unsigned char *p, uint64_t v);
uint64_t store_get_be64(const unsigned char *p);
void store_chunk_key(unsigned char key[CHUNK_KEY_LEN], uint64_t seq,
		     const uint8_t trace_id[TM_TRACE_ID_LEN]);

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
