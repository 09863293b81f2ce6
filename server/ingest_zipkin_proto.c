/* ingest_zipkin_proto.c - zipkin.proto3.ListOfSpans (POST /api/v2/spans,
 * application/x-protobuf) into the common model.
 *
 * protobuf-c decodes the body into the request's arena, as for OTLP.  IDs
 * are raw bytes here (8 or 16 for the trace, 8 for spans), addresses too
 * (4 or 16 bytes; shown as text, as in the JSON form).  A field of the
 * wrong size or an unknown kind refuses the body, naming the span. */
#include "pb_arena.h"
#include "ingest_zipkin.h"
#include "ingest_zipkin_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zipkin.pb-c.h"

typedef Zipkin__Proto3__Span PbSpan;
typedef Zipkin__Proto3__Endpoint PbEndpoint;

struct pb_conv {
	struct tm_arena *arena;
	struct tm_ingest_report *report;
	char where[32];   /* "spans[3]" */
};

/*---- fields ----*/

static int convert_ids(struct pb_conv *c, const PbSpan *in, struct zk_span *z)
{
	size_t n = in->trace_id.len;
	if (n != 8 && n != 16)
		return zk_bad(c->report, "%s.trace_id: expected 8 or 16 bytes, got %zu", c->where,
			      n);
	memcpy(z->trace_id + TM_TRACE_ID_LEN - n, in->trace_id.data, n);
	if (in->id.len != TM_SPAN_ID_LEN)
		return zk_bad(c->report, "%s.id: expected 8 bytes, got %zu", c->where, in->id.len);
	memcpy(z->id, in->id.data, TM_SPAN_ID_LEN);
	if (in->parent_id.len != 0 && in->parent_id.len != TM_SPAN_ID_LEN)
		return zk_bad(c->report, "%s.parent_id: expected 8 bytes or none, got %zu",
			      c->where, in->parent_id.len);
	if (in->parent_id.len && !tm_id_is_zero(in->parent_id.data, TM_SPAN_ID_LEN)) {
		memcpy(z->parent_id, in->parent_id.data, TM_SPAN_ID_LEN);
		z->has_parent = 1;
	}
	return 0;
}

static int convert_kind(struct pb_conv *c, int kind, uint8_t *out)
{
	static const uint8_t kinds[] = { TM_KIND_INTERNAL, TM_KIND_CLIENT, TM_KIND_SERVER,
					 TM_KIND_PRODUCER, TM_KIND_CONSUMER };
	if (kind < 0 || (size_t)kind >= sizeof(kinds))
		return zk_bad(c->report, "%s.kind: unknown value %d", c->where, kind);
	*out = kinds[kind];
	return 0;
}

static int ip_text(struct pb_conv *c, const char *field, const ProtobufCBinaryData *b,
		   int family, struct tm_str *out)
{
	size_t want = family == AF_INET ? 4 : 16;
	char text[INET6_ADDRSTRLEN];

	*out = tm_str_from("");
	if (!b->len)
		return 0;
	if (b->len != want)
		return zk_bad(c->report, "%s.%s: expected %zu bytes, got %zu", c->where, field,
			      want, b->len);
	if (!inet_ntop(family, b->data, text, sizeof(text)))
		return zk_bad(c->report, "%s.%s: not an address", c->where, field);
	out->len = strlen(text);
	out->ptr = tm_arena_dup(c->arena, text, out->len);
	return out->ptr ? 0 : -ENOMEM;
}

static int convert_endpoint(struct pb_conv *c, const char *field, const PbEndpoint *in,
			    struct zk_endpoint *out)
{
	char at[64];

	memset(out, 0, sizeof(*out));
	out->service = out->ipv4 = out->ipv6 = tm_str_from("");
	if (!in)
		return 0;
	snprintf(at, sizeof(at), "%s.ipv4", field);
	int rc = ip_text(c, at, &in->ipv4, AF_INET, &out->ipv4);
	snprintf(at, sizeof(at), "%s.ipv6", field);
	if (!rc)
		rc = ip_text(c, at, &in->ipv6, AF_INET6, &out->ipv6);
	if (rc)
		return rc;
	if (in->port < 0 || in->port > 65535)
		return zk_bad(c->report, "%s.%s.port: %d is not a port number", c->where, field,
			      (int)in->port);
	out->service = tm_str_from(in->service_name);
	out->port = in->port;
	return 0;
}

static int convert_annotations(struct pb_conv *c, const PbSpan *in, struct zk_span *z)
{
	if (!in->n_annotations)
		return 0;
	z->annotations = tm_arena_alloc(c->arena, in->n_annotations * sizeof(*z->annotations));
	if (!z->annotations)
		return -ENOMEM;
	z->n_annotations = in->n_annotations;
	for (size_t i = 0; i < in->n_annotations; i++) {
		z->annotations[i].timestamp_us = in->annotations[i]->timestamp;
		z->annotations[i].value = tm_str_from(in->annotations[i]->value);
	}
	return 0;
}

/* a map on the wire may repeat a key; as in every protobuf runtime the
 * last value wins (in the place of the first) */
static int convert_tags(struct pb_conv *c, const PbSpan *in, struct zk_span *z)
{
	size_t cap = 16;
	while (cap < 2 * in->n_tags)
		cap *= 2;
	if (!in->n_tags)
		return 0;
	uint32_t *slots = tm_arena_zalloc(c->arena, cap * sizeof(*slots));
	z->tags = tm_arena_alloc(c->arena, in->n_tags * sizeof(*z->tags));
	if (!slots || !z->tags)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_tags; i++) {
		struct zk_tag t = { tm_str_from(in->tags[i]->key), tm_str_from(in->tags[i]->value) };
		size_t j = tm_hash64(t.key.ptr, t.key.len) & (cap - 1);
		while (slots[j] && !tm_str_eq(z->tags[slots[j] - 1].key, t.key))
			j = (j + 1) & (cap - 1);
		if (slots[j]) {
			z->tags[slots[j] - 1].value = t.value;
			continue;
		}
		z->tags[z->n_tags] = t;
		slots[j] = (uint32_t)++z->n_tags;
	}
	return 0;
}

static int convert_span(struct pb_conv *c, const PbSpan *in, struct zk_span *z)
{
	memset(z, 0, sizeof(*z));
	int rc = convert_ids(c, in, z);
	if (!rc)
		rc = convert_kind(c, (int)in->kind, &z->kind);
	if (!rc)
		rc = convert_endpoint(c, "local_endpoint", in->local_endpoint, &z->local);
	if (!rc)
		rc = convert_endpoint(c, "remote_endpoint", in->remote_endpoint, &z->remote);
	if (!rc)
		rc = convert_annotations(c, in, z);
	if (!rc)
		rc = convert_tags(c, in, z);
	z->name = tm_str_from(in->name);
	z->timestamp_us = in->timestamp;
	z->duration_us = in->duration;
	z->is_debug = in->debug;
	z->is_shared = in->shared;
	return rc;
}

/*---- the body ----*/

static int unpack(const void *body, size_t len, struct tm_arena *arena,
		  struct tm_ingest_report *report, Zipkin__Proto3__ListOfSpans **out)
{
	struct tm_pb_arena pb;
	tm_pb_arena_init(&pb, arena);

	*out = zipkin__proto3__list_of_spans__unpack(&pb.allocator, len, body);
	if (*out)
		return 0;
	if (pb.failed)
		return -ENOMEM;   /* zk_sink_done() tells -E2BIG from -ENOMEM */
	return zk_bad(report, "body is not a valid zipkin.proto3.ListOfSpans protobuf message");
}

int tm_ingest_zipkin_proto(const void *body, size_t len, struct tm_arena *arena,
			   struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct zk_sink sink;
	Zipkin__Proto3__ListOfSpans *list;
	struct pb_conv c = { arena, report, "" };

	zk_sink_init(&sink, arena, batch, report);
	int rc = unpack(body, len, arena, report, &list);
	for (size_t i = 0; !rc && i < list->n_spans; i++) {
		struct zk_span z;
		snprintf(c.where, sizeof(c.where), "spans[%zu]", i);
		rc = convert_span(&c, list->spans[i], &z);
		if (!rc)
			rc = zk_sink_add(&sink, &z, i);
	}
	/* no unpack_free: the arena owns the message */
	return zk_sink_done(&sink, rc);
}
