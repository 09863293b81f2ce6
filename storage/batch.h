/* batch.h - a batch of spans ready for the store, built off the writer thread.
 *
 * Decoders (in the HTTP threads) turn a request into one tm_batch: every
 * span already encoded as a record, every resource and scope encoded once
 * and named by a content hash.  The single writer thread then only sorts,
 * groups and copies bytes into LMDB.
 *
 * Threads: a batch is built by one thread and handed over whole.
 * Errors:  tm_batch_add_* return 0 or -ENOMEM.
 * Memory:  everything a batch holds is allocated from the arena given to
 *          tm_batch_init(); the batch dies with that arena.  Inputs are
 *          copied (encoded), so the caller's views may die afterwards. */
#ifndef TM_BATCH_H
#define TM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "search_hash.h"
#include "span.h"

/* an encoded resource or scope, stored once under its id. */
struct tm_blob {
	const unsigned char *data;
	size_t len;
	uint64_t hash;   /* content hash; the store derives the id from it */
};

/* what kind of peer a client span names (the service map's virtual nodes) */
enum tm_node_kind {
	TM_NODE_NONE = 0,
	TM_NODE_EXTERNAL = 1,
	TM_NODE_DATABASE = 2,
	TM_NODE_MESSAGING = 3,
};

struct tm_batch_span {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	uint8_t parent_span_id[TM_SPAN_ID_LEN];
	uint32_t resource;          /* index into tm_batch.resources */
	uint32_t scope;             /* index into tm_batch.scopes */
	uint64_t start_ns;
	uint64_t end_ns;
	uint8_t is_error;
	uint8_t is_root;
	uint8_t kind;
	uint8_t follows_from;       /* its parent reference is FOLLOWS_FROM */
	uint8_t node_kind;          /* enum tm_node_kind of `node` */
	uint16_t http_status;       /* 0 when none */
	struct tm_str name;         /* copy in the arena, for the summary */
	struct tm_str peer;         /* remote service it calls, or empty */
	struct tm_str node;         /* the service-map node it names, or empty */
	struct tm_bloom bloom;      /* its attributes, events and links */
	const unsigned char *rec;   /* tm_span_encode() output */
	size_t rec_len;
};

/* a value of one of the keys set by tm_batch_set_value_keys() */
#define VALUE_SEEN_SLOTS 256

struct tm_batch_value {
	uint32_t key;               /* index into those keys */
	uint32_t resource;          /* whose service saw it */
	struct tm_str text;
};

struct tm_batch {
	struct tm_arena *arena;
	struct tm_blob *resources;
	struct tm_str *services;    /* service.name of each resource */
	struct tm_bloom *res_blooms;   /* attributes of each resource */
	size_t n_resources, cap_resources, cap_services, cap_res_blooms;
	struct tm_blob *scopes;
	struct tm_bloom *scope_blooms;
	size_t n_scopes, cap_scopes, cap_scope_blooms;
	struct tm_batch_span *spans;
	size_t n_spans, cap_spans;
	struct tm_batch_value *values;
	size_t n_values, cap_values;
	uint64_t *value_seen;       /* hashes of the values already in `values` */
	size_t bytes;               /* encoded size, for queue accounting */
	struct tm_buf scratch;      /* reused encode buffer; see tm_batch_done() */
};

void tm_batch_init(struct tm_batch *b, struct tm_arena *arena);

/* releases the scratch buffer once nothing more will be added; the batch's
 * contents (in the arena) stay valid. */
void tm_batch_done(struct tm_batch *b);

/* adds a resource; *index receives its index for tm_batch_add_span(). */
int tm_batch_add_resource(struct tm_batch *b, const struct tm_resource *res,
			  uint32_t *index);
int tm_batch_add_scope(struct tm_batch *b, const struct tm_scope *scope,
		       uint32_t *index);

/* encodes span and adds it under the given resource and scope indexes.
 * span must have a valid (16-byte, non-zero) trace ID; callers validate. */
int tm_batch_add_span(struct tm_batch *b, const struct tm_span *span,
		      uint32_t resource, uint32_t scope);

/* the attribute keys whose values are collected for autocompletion (Zipkin's
 * autocompleteValues).  Call once before any batch is built; keys must stay
 * valid for the life of the process.  At most TM_BATCH_MAX_VALUE_KEYS. */
#define TM_BATCH_MAX_VALUE_KEYS 32
void tm_batch_set_value_keys(const char *const *keys, size_t n);
size_t tm_batch_value_keys(const char *const **keys);

/* the remote service a span names: peer.service, service.peer.name, and
 * on client and producer spans server.address, then net.peer.name. */
struct tm_str tm_span_peer(const struct tm_span *span);

/* the service-map node a span names as its peer (docs/servicemap.md): for
 * client and producer spans peer.service, service.peer.name,
 * server.address, then the database or messaging names; for a root server
 * or consumer span its peer.service.  Returns the node's kind, or
 * TM_NODE_NONE (and an empty name) when it names none. */
enum tm_node_kind tm_span_node(const struct tm_span *span, struct tm_str *name);

/* the HTTP status of a span (http.response.status_code, else
 * http.status_code, as an integer or a string), or 0 */
unsigned tm_span_http_status(const struct tm_span *span);

/* 64-bit content hash used for resource and scope ids and name caches. */
uint64_t tm_hash64(const void *data, size_t len);
uint64_t tm_hash64_seeded(uint64_t seed, const void *data, size_t len);

#endif
