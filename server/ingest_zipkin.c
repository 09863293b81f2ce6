/* ingest_zipkin.c - one Zipkin span (v2 model) into the common model.
 *
 * The mapping, the same for v2 JSON, v2 protobuf and v1 JSON:
 *   localEndpoint.serviceName      resource service.name (as sent)
 *   localEndpoint ipv4, ipv6       resource host.ip (string array; the
 *                                  OTel host convention); port: dropped,
 *                                  no resource convention names it
 *   remoteEndpoint                 span attributes, so that an
 *                                  uninstrumented peer can become a node:
 *                                  peer.service, network.peer.address/port,
 *                                  and server.address/port (CLIENT, PRODUCER,
 *                                  CONSUMER: the server or broker) or
 *                                  client.address/port (SERVER); a tag of
 *                                  the same key wins
 *   kind                           CLIENT 3, SERVER 2, PRODUCER 4,
 *                                  CONSUMER 5, absent INTERNAL 1
 *   timestamp, duration (µs)       start, end (ns); absent (zero) is 0
 *   tags                           string attributes, in order
 *   annotations                    events (name = value)
 *   tag error                      status ERROR, message = its value unless
 *                                  "" or "true"; the tag is kept
 *   tags otel.status_code, otel.status_description
 *                                  status code and message (consumed)
 *   tags otel.scope.name/version (or otel.library.*)
 *                                  the scope (consumed)
 *   debug                          flags = sampled (0x01)
 *   shared (not on CLIENT)         B3 shared span: the server side reuses
 *                                  the client's span id.  Stored as a child
 *                                  of that client span: parent = its own
 *                                  id, and the original parentId kept as
 *                                  attribute zipkin.parent_id. */
#include "ingest_zipkin.h"
#include "ingest_zipkin_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* attributes a span can get besides its tags */
#define MAX_DERIVED_ATTRS 6
#define TRACE_FLAG_SAMPLED 0x01u

/*---- small helpers ----*/

static int str_is(struct tm_str a, const char *lit)
{
	return tm_str_eq(a, tm_str_from(lit));
}

int zk_bad(struct tm_ingest_report *report, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(report->message, sizeof(report->message), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/*---- resources and scopes, each stored once per batch ----*/

/* the slot that holds the blob equal to data, or the free slot where it
 * goes; slots hold a batch index + 1 and are never full (load < 1/2) */
static uint32_t *intern_slot(uint32_t *slots, size_t cap, const struct tm_blob *blobs,
			     const unsigned char *data, size_t len, uint64_t hash)
{
	size_t mask = cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		if (!slots[i])
			return &slots[i];
		const struct tm_blob *b = &blobs[slots[i] - 1];
		if (b->hash == hash && b->len == len && memcmp(b->data, data, len) == 0)
			return &slots[i];
	}
}

/* keeps the table at most half full for n blobs plus the next one */
static int intern_reserve(struct tm_arena *arena, uint32_t **slots, size_t *cap,
			  const struct tm_blob *blobs, size_t n)
{
	if (*cap && 2 * (n + 1) <= *cap)
		return 0;
	size_t ncap = *cap ? 2 * *cap : 16;
	uint32_t *fresh = tm_arena_zalloc(arena, ncap * sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t j = blobs[i].hash & (ncap - 1);
		while (fresh[j])
			j = (j + 1) & (ncap - 1);
		fresh[j] = (uint32_t)i + 1;
	}
	*slots = fresh;
	*cap = ncap;
	return 0;
}

/* spans of one service share a resource: without this, a batch of a
 * thousand spans would carry a thousand copies of it */
static int add_resource(struct zk_sink *s, const struct tm_resource *res, uint32_t *index)
{
	struct tm_batch *b = s->batch;
	if (intern_reserve(s->arena, &s->res_slots, &s->res_cap, b->resources, b->n_resources))
		return -ENOMEM;
	s->scratch.len = 0;
	tm_resource_encode(&s->scratch, res);
	if (s->scratch.failed)
		return -ENOMEM;
	uint32_t *slot = intern_slot(s->res_slots, s->res_cap, b->resources, s->scratch.data,
				     s->scratch.len, tm_hash64(s->scratch.data, s->scratch.len));
	if (*slot) {
		*index = *slot - 1;
		return 0;
	}
	int rc = tm_batch_add_resource(b, res, index);
	if (!rc)
		*slot = *index + 1;
	return rc;
}

static int add_scope(struct zk_sink *s, const struct tm_scope *scope, uint32_t *index)
{
	struct tm_batch *b = s->batch;
	if (intern_reserve(s->arena, &s->scope_slots, &s->scope_cap, b->scopes, b->n_scopes))
		return -ENOMEM;
	s->scratch.len = 0;
	tm_scope_encode(&s->scratch, scope);
	if (s->scratch.failed)
		return -ENOMEM;
	uint32_t *slot = intern_slot(s->scope_slots, s->scope_cap, b->scopes, s->scratch.data,
				     s->scratch.len, tm_hash64(s->scratch.data, s->scratch.len));
	if (*slot) {
		*index = *slot - 1;
		return 0;
	}
	int rc = tm_batch_add_scope(b, scope, index);
	if (!rc)
		*slot = *index + 1;
	return rc;
}

/*---- the tags that are not attributes ----*/

/* positions of the tags the mapping reads (-1 when absent) */
struct special_tags {
	long status_code, status_desc, error;
	long scope_name, scope_version, lib_name, lib_version;
};

static void find_special_tags(const struct zk_span *z, struct special_tags *t)
{
	static const char *const keys[] = {
		"otel.status_code", "otel.status_description", "error", "otel.scope.name",
		"otel.scope.version", "otel.library.name", "otel.library.version",
	};
	long *pos[] = { &t->status_code, &t->status_desc, &t->error, &t->scope_name,
			&t->scope_version, &t->lib_name, &t->lib_version };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		*pos[k] = -1;
	for (size_t i = 0; i < z->n_tags; i++)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (str_is(z->tags[i].key, keys[k]))
				*pos[k] = (long)i;
}

static int status_code_of(struct tm_str v)
{
	if (str_is(v, "OK"))
		return TM_STATUS_OK;
	if (str_is(v, "ERROR"))
		return TM_STATUS_ERROR;
	if (str_is(v, "UNSET"))
		return TM_STATUS_UNSET;
	return -1;
}

/* an otel.library.* tag is the deprecated twin of otel.scope.*: consumed
 * unless it says something the scope tag does not */
static int library_tag_consumed(const struct zk_span *z, long lib, long scope)
{
	return lib >= 0 && (scope < 0 || tm_str_eq(z->tags[lib].value, z->tags[scope].value));
}

static int tag_is_consumed(const struct zk_span *z, const struct special_tags *t, long i)
{
	if (i == t->status_code)
		return status_code_of(z->tags[i].value) >= 0;
	if (i == t->lib_name)
		return library_tag_consumed(z, t->lib_name, t->scope_name);
	if (i == t->lib_version)
		return library_tag_consumed(z, t->lib_version, t->scope_version);
	return i == t->status_desc || i == t->scope_name || i == t->scope_version;
}

static void map_status(const struct zk_span *z, const struct special_tags *t,
		       struct tm_span *out)
{
	if (t->status_code >= 0 && status_code_of(z->tags[t->status_code].value) >= 0)
		out->status_code = (uint8_t)status_code_of(z->tags[t->status_code].value);
	/* Zipkin's own convention: any error tag marks a failed span */
	if (t->error >= 0) {
		struct tm_str v = z->tags[t->error].value;
		out->status_code = TM_STATUS_ERROR;
		if (v.len && !str_is(v, "true"))
			out->status_message = v;
	}
	if (t->status_desc >= 0)
		out->status_message = z->tags[t->status_desc].value;
}

static void map_scope(const struct zk_span *z, const struct special_tags *t,
		      struct tm_scope *scope)
{
	memset(scope, 0, sizeof(*scope));
	long name = t->scope_name >= 0 ? t->scope_name : t->lib_name;
	long version = t->scope_version >= 0 ? t->scope_version : t->lib_version;
	if (name >= 0)
		scope->name = z->tags[name].value;
	if (version >= 0)
		scope->version = z->tags[version].value;
}

/*---- attributes ----*/

static int has_tag(const struct zk_span *z, const char *key)
{
	for (size_t i = 0; i < z->n_tags; i++)
		if (str_is(z->tags[i].key, key))
			return 1;
	return 0;
}

static void put_str(struct tm_attrs *a, struct tm_str key, struct tm_str v)
{
	struct tm_attr *at = &a->items[a->n++];
	at->key = key;
	at->value.type = TM_VAL_STRING;
	at->value.u.str = v;
}

static void put_int(struct tm_attrs *a, const char *key, int64_t v)
{
	struct tm_attr *at = &a->items[a->n++];
	at->key = tm_str_from(key);
	at->value.type = TM_VAL_INT;
	at->value.u.integer = v;
}

/* the remote host under the names of its role for this kind of span */
static void put_remote(const struct zk_span *z, struct tm_attrs *a)
{
	const struct zk_endpoint *r = &z->remote;
	struct tm_str addr = r->ipv4.len ? r->ipv4 : r->ipv6;
	const char *role_addr = NULL, *role_port = NULL;

	if (z->kind == TM_KIND_CLIENT || z->kind == TM_KIND_PRODUCER ||
	    z->kind == TM_KIND_CONSUMER) {
		role_addr = "server.address";
		role_port = "server.port";
	} else if (z->kind == TM_KIND_SERVER) {
		role_addr = "client.address";
		role_port = "client.port";
	}
	if (r->service.len && !has_tag(z, "peer.service"))
		put_str(a, tm_str_from("peer.service"), r->service);
	if (addr.len && !has_tag(z, "network.peer.address"))
		put_str(a, tm_str_from("network.peer.address"), addr);
	if (r->port > 0 && !has_tag(z, "network.peer.port"))
		put_int(a, "network.peer.port", r->port);
	if (addr.len && role_addr && !has_tag(z, role_addr))
		put_str(a, tm_str_from(role_addr), addr);
	if (r->port > 0 && role_port && !has_tag(z, role_port))
		put_int(a, role_port, r->port);
}

/* the shared (server) side is the child of the client side, which has the
 * same id; its own parent is kept for whoever needs the Zipkin tree */
static int is_shared_side(const struct zk_span *z)
{
	return z->is_shared && z->kind != TM_KIND_CLIENT;
}

static int map_attrs(struct zk_sink *s, const struct zk_span *z, const struct special_tags *t,
		     struct tm_attrs *a)
{
	memset(a, 0, sizeof(*a));
	size_t max = z->n_tags + MAX_DERIVED_ATTRS;
	a->items = tm_arena_alloc(s->arena, max * sizeof(*a->items));
	if (!a->items)
		return -ENOMEM;
	for (size_t i = 0; i < z->n_tags; i++)
		if (!tag_is_consumed(z, t, (long)i))
			put_str(a, z->tags[i].key, z->tags[i].value);
	put_remote(z, a);
	if (is_shared_side(z) && z->has_parent && !has_tag(z, "zipkin.parent_id")) {
		char *hex = tm_arena_alloc(s->arena, 2 * TM_SPAN_ID_LEN + 1);
		if (!hex)
			return -ENOMEM;
		tm_id_to_hex(z->parent_id, TM_SPAN_ID_LEN, hex);
		struct tm_str v = { hex, 2 * TM_SPAN_ID_LEN };
		put_str(a, tm_str_from("zipkin.parent_id"), v);
	}
	return 0;
}

/*---- span, resource, events ----*/

static int map_events(struct zk_sink *s, const struct zk_span *z, struct tm_span *out)
{
	if (!z->n_annotations)
		return 0;
	out->events = tm_arena_zalloc(s->arena, z->n_annotations * sizeof(*out->events));
	if (!out->events)
		return -ENOMEM;
	out->n_events = z->n_annotations;
	for (size_t i = 0; i < z->n_annotations; i++) {
		out->events[i].time_ns = z->annotations[i].timestamp_us * 1000;
		out->events[i].name = z->annotations[i].value;
	}
	return 0;
}

static int map_resource(struct zk_sink *s, const struct zk_endpoint *local,
			struct tm_resource *res)
{
	struct tm_value *ips;
	size_t n_ips = (local->ipv4.len > 0) + (local->ipv6.len > 0);

	memset(res, 0, sizeof(*res));
	res->attrs.items = tm_arena_alloc(s->arena, 2 * sizeof(struct tm_attr));
	if (!res->attrs.items)
		return -ENOMEM;
	if (local->service.len)
		put_str(&res->attrs, tm_str_from("service.name"), local->service);
	if (n_ips) {
		ips = tm_arena_zalloc(s->arena, n_ips * sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		size_t k = 0;
		if (local->ipv4.len)
			ips[k].type = TM_VAL_STRING, ips[k++].u.str = local->ipv4;
		if (local->ipv6.len)
			ips[k].type = TM_VAL_STRING, ips[k++].u.str = local->ipv6;
		struct tm_attr *at = &res->attrs.items[res->attrs.n++];
		at->key = tm_str_from("host.ip");
		at->value.type = TM_VAL_ARRAY;
		at->value.u.array.items = ips;
		at->value.u.array.n = n_ips;
	}
	return 0;
}

/* why a span cannot be stored, or NULL */
static const char *span_problem(const struct zk_span *z)
{
	if (tm_id_is_zero(z->trace_id, TM_TRACE_ID_LEN))
		return "traceId must not be all zeros";
	if (tm_id_is_zero(z->id, TM_SPAN_ID_LEN))
		return "id must not be all zeros";
	if (z->timestamp_us > UINT64_MAX / 1000 ||
	    z->duration_us > UINT64_MAX / 1000 - z->timestamp_us)
		return "timestamp + duration is past the year 2554";
	for (size_t i = 0; i < z->n_annotations; i++)
		if (z->annotations[i].timestamp_us > UINT64_MAX / 1000)
			return "an annotation's timestamp is past the year 2554";
	return NULL;
}

static void map_ids_and_times(const struct zk_span *z, struct tm_span *out)
{
	memcpy(out->trace_id, z->trace_id, TM_TRACE_ID_LEN);
	memcpy(out->span_id, z->id, TM_SPAN_ID_LEN);
	if (is_shared_side(z)) {
		out->has_parent = 1;
		memcpy(out->parent_span_id, z->id, TM_SPAN_ID_LEN);
	} else if (z->has_parent) {
		out->has_parent = 1;
		memcpy(out->parent_span_id, z->parent_id, TM_SPAN_ID_LEN);
	}
	out->name = z->name;
	out->kind = z->kind;
	out->flags = z->is_debug ? TRACE_FLAG_SAMPLED : 0;
	out->start_ns = z->timestamp_us * 1000;
	out->end_ns = out->start_ns + z->duration_us * 1000;
}

int zk_sink_add(struct zk_sink *s, const struct zk_span *z, size_t index)
{
	const char *why = span_problem(z);
	if (why) {
		tm_ingest_reject(s->report, "spans[%zu]: %s", index, why);
		return 0;
	}
	struct special_tags t;
	struct tm_span span;
	struct tm_resource res;
	struct tm_scope scope;
	uint32_t res_index, scope_index;

	find_special_tags(z, &t);
	memset(&span, 0, sizeof(span));
	map_ids_and_times(z, &span);
	map_status(z, &t, &span);
	map_scope(z, &t, &scope);
	int rc = map_attrs(s, z, &t, &span.attrs);
	if (!rc)
		rc = map_events(s, z, &span);
	if (!rc)
		rc = map_resource(s, &z->local, &res);
	if (!rc)
		rc = add_resource(s, &res, &res_index);
	if (!rc)
		rc = add_scope(s, &scope, &scope_index);
	if (!rc)
		rc = tm_batch_add_span(s->batch, &span, res_index, scope_index);
	if (!rc)
		s->report->accepted++;
	return rc;
}

/*---- a request ----*/

void zk_sink_init(struct zk_sink *s, struct tm_arena *arena, struct tm_batch *batch,
		  struct tm_ingest_report *report)
{
	memset(s, 0, sizeof(*s));
	s->arena = arena;
	s->batch = batch;
	s->report = report;
	tm_buf_init(&s->scratch);
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
}

int zk_sink_done(struct zk_sink *s, int rc)
{
	tm_buf_free(&s->scratch);
	tm_batch_done(s->batch);
	if (rc == -ENOMEM && s->arena->hit_limit)
		return tm_ingest_too_big(s->arena, s->report);
	if (rc == -ENOMEM)
		snprintf(s->report->message, sizeof(s->report->message),
			 "out of memory decoding the request");
	return rc;
}
