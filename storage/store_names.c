/* store_names.c - interning of service, operation and peer names.
 *
 * Index rows refer to names by a 32-bit id so that a row stays small.  The
 * `names` database maps kind+payload to the id (or to nothing, for the
 * relations "service S calls peer P" and "key K had value V"), `nameids`
 * maps the id back.  New names are rare after the first minutes, so the
 * writer keeps the ones it has seen in a small hash table and touches LMDB
 * only for a name it has not met since it started. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_PAYLOAD 480   /* LMDB keys are at most 511 bytes */

static uint64_t name_hash(const unsigned char *key, size_t len)
{
	return tm_hash64(key, len);
}

void store_names_clear(struct tm_store *st)
{
	struct name_cache *c = &st->names_cache;
	for (size_t i = 0; i < NAME_CACHE_SLOTS; i++) {
		free(c->slots[i].key);
		c->slots[i].key = NULL;
	}
	c->used = 0;
}

static struct name_slot *cache_find(struct name_cache *c, uint64_t h,
				    const unsigned char *key, size_t len)
{
	for (size_t i = h & (NAME_CACHE_SLOTS - 1);; i = (i + 1) & (NAME_CACHE_SLOTS - 1)) {
		struct name_slot *s = &c->slots[i];
		if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static void cache_put(struct name_cache *c, struct name_slot *s, uint64_t h,
		      const unsigned char *key, size_t len, uint32_t id)
{
	/* a full table only stops caching; lookups then go to LMDB */
	if (c->used >= NAME_CACHE_SLOTS * 3 / 4)
		return;
	s->key = malloc(len);
	if (!s->key)
		return;
	memcpy(s->key, key, len);
	s->len = (uint32_t)len;
	s->hash = h;
	s->id = id;
	c->used++;
}

/* builds kind+prefix+name; returns its length, or 0 when too long to index */
static size_t name_key(unsigned char *out, char kind, const void *prefix, size_t plen,
		       struct tm_str name)
{
	if (plen + name.len > NAME_MAX_PAYLOAD)
		return 0;
	out[0] = (unsigned char)kind;
	if (plen)
		memcpy(out + 1, prefix, plen);
	if (name.len)
		memcpy(out + 1 + plen, name.ptr, name.len);
	return 1 + plen + name.len;
}

/* finds or creates the id of key; with_id 0 stores a relation (id 0) */
static int intern_key(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      const unsigned char *key, size_t len, int with_id, uint32_t *id)
{
	uint64_t h = name_hash(key, len);
	struct name_slot *slot = cache_find(&st->names_cache, h, key, len);
	if (slot->key) {
		*id = slot->id;
		return 0;
	}
	MDB_val k = { len, (void *)key }, v;
	int rc = mdb_get(txn, st->names, &k, &v);
	if (rc == 0) {
		*id = v.mv_size == 4 ? (uint32_t)store_get_be32(v.mv_data) : 0;
	} else if (rc == MDB_NOTFOUND) {
		unsigned char idb[4];
		*id = 0;
		v.mv_size = 0;
		v.mv_data = idb;
		if (with_id) {
			*id = (uint32_t)++s->last_name_id;
			store_put_be32(idb, *id);
			v.mv_size = 4;
			unsigned char back[512];
			MDB_val bk = { 4, idb }, bv = { len, back };
			memcpy(back, key, len);
			rc = mdb_put(txn, st->nameids, &bk, &bv, MDB_APPEND);
			if (rc)
				return store_errno(rc);
		}
		rc = mdb_put(txn, st->names, &k, &v, MDB_NOOVERWRITE);
		if (rc)
			return store_errno(rc);
	} else {
		return store_errno(rc);
	}
	cache_put(&st->names_cache, slot, h, key, len, *id);
	return 0;
}

int store_intern_service(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			 struct tm_str name, uint32_t *id)
{
	unsigned char key[512];
	size_t len = name_key(key, NAME_SERVICE, NULL, 0, name);
	if (!len) {
		*id = 0;
		return 0;
	}
	return intern_key(st, txn, s, key, len, 1, id);
}

int store_intern_operation(struct tm_store *st, MDB_txn *txn, struct store_state *s,
			   uint32_t svc, uint8_t kind, struct tm_str name, uint32_t *id)
{
	unsigned char key[512], prefix[5];
	store_put_be32(prefix, svc);
	prefix[4] = kind;
	size_t len = name_key(key, NAME_OPERATION, prefix, 5, name);
	if (!len) {
		*id = 0;
		return 0;
	}
	return intern_key(st, txn, s, key, len, 1, id);
}

int store_intern_peer(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      uint32_t svc, struct tm_str name, uint32_t *id)
{
	unsigned char key[512], prefix[4];
	*id = 0;
	size_t len = name_key(key, NAME_PEER, NULL, 0, name);
	if (!len || !name.len)
		return 0;
	int rc = intern_key(st, txn, s, key, len, 1, id);
	if (rc)
		return rc;
	uint32_t none;
	store_put_be32(prefix, svc);
	len = name_key(key, NAME_CALLS, prefix, 4, name);
	return len ? intern_key(st, txn, s, key, len, 0, &none) : 0;
}

int store_intern_node(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		      struct tm_str name, uint32_t *id)
{
	unsigned char key[512];
	size_t len = name_key(key, NAME_PEER, NULL, 0, name);
	*id = 0;
	return len && name.len ? intern_key(st, txn, s, key, len, 1, id) : 0;
}

int store_note_value(struct tm_store *st, MDB_txn *txn, struct store_state *s,
		     uint32_t key_index, struct tm_str key, struct tm_str value)
{
	if (key_index >= TM_BATCH_MAX_VALUE_KEYS ||
	    st->value_counts[key_index] >= STORE_MAX_VALUES_PER_KEY)
		return 0;
	unsigned char buf[512], prefix[257];
	if (key.len > 255)
		return 0;
	memcpy(prefix, key.ptr, key.len);
	prefix[key.len] = 0;
	size_t len = name_key(buf, NAME_VALUE, prefix, key.len + 1, value);
	if (!len)
		return 0;
	uint64_t h = name_hash(buf, len);
	if (cache_find(&st->names_cache, h, buf, len)->key)
		return 0;
	MDB_val k = { len, buf }, v;
	if (mdb_get(txn, st->names, &k, &v) == MDB_NOTFOUND)
		st->value_counts[key_index]++;
	uint32_t none;
	return intern_key(st, txn, s, buf, len, 0, &none);
}

/* counts the values stored per autocomplete key, once at open */
int store_names_load(struct tm_store *st, MDB_txn *txn)
{
	const char *const *keys;
	size_t n = tm_batch_value_keys(&keys);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->names, &cur);
	if (rc)
		return store_errno(rc);
	for (size_t i = 0; i < n && !rc; i++) {
		unsigned char prefix[258];
		size_t klen = strlen(keys[i]);
		if (klen > 255)
			continue;
		prefix[0] = NAME_VALUE;
		memcpy(prefix + 1, keys[i], klen);
		prefix[klen + 1] = 0;
		MDB_val k = { klen + 2, prefix }, v;
		int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		while (r == 0 && k.mv_size >= klen + 2 && !memcmp(k.mv_data, prefix, klen + 2)) {
			st->value_counts[i]++;
			r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (r && r != MDB_NOTFOUND)
			rc = r;
	}
	mdb_cursor_close(cur);
	return store_errno(rc);
}
