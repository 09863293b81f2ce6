/* test_ingest_zipkin.c - Zipkin bodies (v2 JSON, v2 protobuf, v1 JSON) into
 * batches.
 *
 * (a) golden files: DIR/NAME.json decoded by the decoder its name says and
 *     compared, rendered as OTLP/JSON, with DIR/NAME.golden.json
 *     (TM_UPDATE_GOLDEN=1 rewrites them); among them the bodies captured
 *     from @opentelemetry/exporter-zipkin and zipkin-js (v2 and v1) by
 *     tests/clients/capture_zipkin.mjs, and zipkin-js's v1 body must decode
 *     into exactly what its v2 body does;
 * (b) the fields a golden file makes easy to overlook, checked one by one:
 *     B3 shared spans, 64-bit ids, status from tags, remote endpoints,
 *     rounding of fractional microseconds, v1 sides;
 * (c) a ListOfSpans built with the protobuf-c code generated from
 *     server/proto/zipkin.proto;
 * (d) refusals with -EBADMSG and a message naming the place: malformed JSON,
 *     not an array, wrong types, IDs of the wrong length, deep nesting;
 *     spans rejected one by one; the arena's limit (-E2BIG).
 * DIR is argv[1], else tests/data/zipkin next to this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_zipkin.h"
#include "testutil.h"
#include "zipkin.pb-c.h"

typedef int (*decode_fn)(const void *, size_t, struct tm_arena *, struct tm_batch *,
			 struct tm_ingest_report *);

static char data_dir[512];

/*---- helpers ----*/

static char *read_file(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		testutil_failures++;
		return NULL;
	}
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	*len = buf ? fread(buf, 1, cap, f) : 0;
	fclose(f);
	return buf;
}

/* the decoder with the HTTP server's arena limit (ingest_http.c) */
static int decode(decode_fn fn, const void *data, size_t len, struct tm_arena *arena,
		  struct tm_batch *batch, struct tm_ingest_report *rep)
{
	tm_arena_init(arena, 16 * len + (1u << 20));
	return fn(data, len, arena, batch, rep);
}

/* span i of the batch, decoded from its record, with its resource and scope */
static struct tm_span span_at(const struct tm_batch *b, size_t i, struct tm_arena *arena)
{
	struct tm_span s;
	memset(&s, 0, sizeof(s));
	CHECK(i < b->n_spans);
	if (i >= b->n_spans)
		return s;
	memcpy(s.trace_id, b->spans[i].trace_id, TM_TRACE_ID_LEN);
	CHECK_INT_EQ(tm_span_decode(b->spans[i].rec, b->spans[i].rec_len, arena, &s), 0);
	struct tm_resource *res = tm_arena_zalloc(arena, sizeof(*res));
	struct tm_scope *scope = tm_arena_zalloc(arena, sizeof(*scope));
	const struct tm_blob *rb = &b->resources[b->spans[i].resource];
	const struct tm_blob *sb = &b->scopes[b->spans[i].scope];
	CHECK_INT_EQ(tm_resource_decode(rb->data, rb->len, arena, res), 0);
	CHECK_INT_EQ(tm_scope_decode(sb->data, sb->len, arena, scope), 0);
	s.resource = res;
	s.scope = scope;
	return s;
}

static const char *cstr(const struct tm_str *s)
{
	static char buf[8][256];
	static int next;
	char *out = buf[next++ % 8];
	snprintf(out, 256, "%.*s", s ? (int)s->len : 6, s ? s->ptr : "(null)");
	return out;
}

static const struct tm_attr *attr(const struct tm_attrs *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->items[i].key.len == strlen(key) && !memcmp(a->items[i].key.ptr, key, strlen(key)))
			return &a->items[i];
	return NULL;
}

/* a string attribute's value, or "(absent)" / "(not a string)" */
static const char *attr_str(const struct tm_attrs *a, const char *key)
{
	const struct tm_attr *at = attr(a, key);
	if (!at)
		return "(absent)";
	if (at->value.type != TM_VAL_STRING)
		return "(not a string)";
	return cstr(&at->value.u.str);
}

static int64_t attr_int(const struct tm_attrs *a, const char *key)
{
	const struct tm_attr *at = attr(a, key);
	return at && at->value.type == TM_VAL_INT ? at->value.u.integer : -1;
}

static const char *hex(const uint8_t *id, size_t len)
{
	static char buf[4][33];
	static int next;
	char *out = buf[next++ % 4];
	tm_id_to_hex(id, len, out);
	return out;
}

/* a data file decoded: the body, its batch and the arena they live in */
struct decoded {
	char *body;
	size_t len;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc;
};

static int decode_file(const char *file, decode_fn fn, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	d->body = read_file(file, &d->len);
	if (!d->body)
		return -1;
	d->rc = decode(fn, d->body, d->len, &d->arena, &d->batch, &d->rep);
	CHECK_INT_EQ(d->rc, 0);
	return d->rc;
}

static void decoded_free(struct decoded *d)
{
	tm_arena_clear(&d->arena);
	free(d->body);
}

/* decodes DIR/NAME.json with fn and compares with DIR/NAME.golden.json */
static void golden(const char *name, decode_fn fn, size_t spans, size_t rejected)
{
	char file[256];
	size_t len;
	snprintf(file, sizeof(file), "%s.json", name);
	char *body = read_file(file, &len);
	if (!body)
		return;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = decode(fn, body, len, &arena, &batch, &rep);
	if (rc)
		fprintf(stderr, "%s: %s\n", name, rep.message);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(batch.n_spans, spans);
	CHECK_INT_EQ(rep.accepted, spans);
	CHECK_INT_EQ(rep.rejected, rejected);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.golden.json", data_dir, name);
	if (!rc && !batch_matches_golden(&batch, path)) {
		fprintf(stderr, "golden file %s does not match\n", path);
		testutil_failures++;
	}
	tm_arena_clear(&arena);
	free(body);
}

/* refuses body with -EBADMSG and a message containing want */
static void refused(decode_fn fn, const char *body, size_t len, const char *want)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = decode(fn, body, len, &arena, &batch, &rep);
	CHECK_INT_EQ(rc, -EBADMSG);
	if (!strstr(rep.message, want)) {
		fprintf(stderr, "refusal of %.60s: message \"%s\" lacks \"%s\"\n", body, rep.message,
			want);
		testutil_failures++;
	}
	tm_arena_clear(&arena);
}

#define REFUSED(fn, body, want) refused(fn, body, strlen(body), want)

/*---- (a) golden files ----*/

static void golden_files(void)
{
	golden("otel_exporter", tm_ingest_zipkin_v2_json, 8, 0);
	golden("zipkinjs_v2", tm_ingest_zipkin_v2_json, 7, 0);
	golden("zipkinjs_v1", tm_ingest_zipkin_v1_json, 7, 0);
	golden("v2_shared_64bit", tm_ingest_zipkin_v2_json, 6, 0);
	golden("v2_zero_values", tm_ingest_zipkin_v2_json, 2, 0);
	golden("v1_merged", tm_ingest_zipkin_v1_json, 7, 0);
}

/* zipkin-js's v1 body (its default) means exactly what its v2 body means */
static void v1_equals_v2(void)
{
	size_t len1, len2;
	char *v1 = read_file("zipkinjs_v1.json", &len1), *v2 = read_file("zipkinjs_v2.json", &len2);
	struct tm_arena a1, a2;
	struct tm_batch b1, b2;
	struct tm_ingest_report r1, r2;
	if (!v1 || !v2)
		goto out;
	CHECK_INT_EQ(decode(tm_ingest_zipkin_v1_json, v1, len1, &a1, &b1, &r1), 0);
	CHECK_INT_EQ(decode(tm_ingest_zipkin_v2_json, v2, len2, &a2, &b2, &r2), 0);
	char *d1 = batch_dump_otlp_json(&b1), *d2 = batch_dump_otlp_json(&b2);
	CHECK(d1 && d2);
	if (d1 && d2)
		CHECK_STR_EQ(d1, d2);
	free(d1);
	free(d2);
	tm_arena_clear(&a1);
	tm_arena_clear(&a2);
out:
	free(v1);
	free(v2);
}

/*---- (b) fields ----*/

/* the OTel exporter: every tag a string, status from otel.status_code and
 * error, a fractional start rounded to the µs */
static void otel_exporter_fields(void)
{
	struct decoded d;
	if (decode_file("otel_exporter.json", tm_ingest_zipkin_v2_json, &d))
		return decoded_free(&d);
	int seen = 0;
	for (size_t i = 0; i < d.batch.n_spans; i++) {
		struct tm_span s = span_at(&d.batch, i, &d.arena);
		CHECK(attr(&s.attrs, "otel.status_code") == NULL);   /* consumed */
		CHECK_STR_EQ(attr_str(&s.attrs, "telemetry.sdk.language"), "nodejs");
		/* capture_payload.mjs: every start is T0 + k µs + 321 ns */
		CHECK_INT_EQ(s.start_ns % 1000, 0);
		CHECK_INT_EQ(s.flags, 0);
		CHECK_INT_EQ(s.n_links, 0);
		if (!strcmp(cstr(&s.name), "POST /charge") && s.kind == TM_KIND_SERVER) {
			seen |= 1;
			CHECK_INT_EQ(s.status_code, TM_STATUS_ERROR);
			CHECK_STR_EQ(cstr(&s.status_message), "card declined");
			CHECK_STR_EQ(attr_str(&s.attrs, "error"), "card declined");
			CHECK_STR_EQ(attr_str(&s.attrs, "payment.amount_cents"), "12999");
			CHECK_INT_EQ(s.n_events, 1);
			CHECK_STR_EQ(cstr(&s.events[0].name), "exception");
			/* 227000 µs + 999 ns after T0: the exporter rounds to 227001 */
			CHECK_INT_EQ(s.events[0].time_ns, 1768471200000000000ull + 227001000ull);
			CHECK_INT_EQ(s.start_ns, 1768471200000000000ull + 52000000ull);
			CHECK_INT_EQ(s.end_ns, 1768471200000000000ull + 228000000ull);
		}
		if (!strcmp(cstr(&s.name), "validate card")) {
			seen |= 2;
			CHECK_INT_EQ(s.kind, TM_KIND_INTERNAL);
			CHECK_INT_EQ(s.status_code, TM_STATUS_OK);
			CHECK(attr(&s.attrs, "error") == NULL);
			CHECK_STR_EQ(attr_str(&s.attrs, "card.luhn_ok"), "true");
			CHECK_STR_EQ(attr_str(&s.attrs, "app.flags"), "true,false");
			CHECK_STR_EQ(attr_str(&s.resource->attrs, "service.name"), "payment");
			CHECK_INT_EQ(s.resource->attrs.n, 1);
			CHECK_INT_EQ(s.scope->name.len, 0);
		}
	}
	CHECK_INT_EQ(seen, 3);
	decoded_free(&d);
}

/* a CLIENT span ignores shared; debug is the sampled flag; the remote
 * endpoint under its CLIENT names */
static void v2_client_fields(struct decoded *d)
{
	struct tm_span c = span_at(&d->batch, 0, &d->arena);
	CHECK_STR_EQ(hex(c.trace_id, 16), "00000000000000005af7183fb1d4cf5f");
	CHECK_INT_EQ(c.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(c.has_parent, 0);
	CHECK_INT_EQ(c.flags, 1);
	CHECK_INT_EQ(c.start_ns, 1556604172355737000ull);
	CHECK_INT_EQ(c.end_ns, 1556604172355737000ull + 1431000ull);
	CHECK_INT_EQ(c.status_code, TM_STATUS_ERROR);   /* error "" */
	CHECK_INT_EQ(c.status_message.len, 0);
	CHECK_STR_EQ(attr_str(&c.attrs, "error"), "");
	CHECK_STR_EQ(attr_str(&c.attrs, "peer.service"), "backend");
	CHECK_STR_EQ(attr_str(&c.attrs, "network.peer.address"), "172.19.0.2");
	CHECK_INT_EQ(attr_int(&c.attrs, "network.peer.port"), 8080);
	CHECK_STR_EQ(attr_str(&c.attrs, "server.address"), "172.19.0.2");
	CHECK_INT_EQ(attr_int(&c.attrs, "server.port"), 8080);
	CHECK_INT_EQ(c.n_events, 2);
	CHECK_STR_EQ(cstr(&c.events[1].name), "wr");
	CHECK_INT_EQ(c.events[1].time_ns, 1556604172357000000ull);
	CHECK_STR_EQ(attr_str(&c.resource->attrs, "service.name"), "frontend");
	const struct tm_attr *ip = attr(&c.resource->attrs, "host.ip");
	CHECK(ip && ip->value.type == TM_VAL_ARRAY && ip->value.u.array.n == 1);
}

/* the server sides of shared ids are children of their client sides */
static void v2_shared_fields(struct decoded *d)
{
	/* the all-zero parentId is no parent, so no zipkin.parent_id */
	struct tm_span s = span_at(&d->batch, 1, &d->arena);
	CHECK_STR_EQ(hex(s.span_id, 8), "6b221d5bc9e6496c");
	CHECK_INT_EQ(s.has_parent, 1);
	CHECK_STR_EQ(hex(s.parent_span_id, 8), "6b221d5bc9e6496c");
	CHECK(attr(&s.attrs, "zipkin.parent_id") == NULL);
	CHECK_INT_EQ(s.kind, TM_KIND_SERVER);
	CHECK_INT_EQ(s.status_code, TM_STATUS_OK);
	CHECK_INT_EQ(s.attrs.n, 2);   /* network.peer.address, client.address */
	CHECK_STR_EQ(attr_str(&s.attrs, "client.address"), "192.168.99.1");
	CHECK(attr(&s.attrs, "server.address") == NULL);
	CHECK_INT_EQ(s.flags, 0);
	/* one with a parent keeps it as zipkin.parent_id; a tag wins over the
	 * remote endpoint; error "true" has no message; scope tags */
	struct tm_span s2 = span_at(&d->batch, 2, &d->arena);
	CHECK_STR_EQ(hex(s2.parent_span_id, 8), "352bff9a74ca9ad2");
	CHECK_STR_EQ(attr_str(&s2.attrs, "zipkin.parent_id"), "6b221d5bc9e6496c");
	CHECK_STR_EQ(attr_str(&s2.attrs, "peer.service"), "from-a-tag");
	CHECK_STR_EQ(attr_str(&s2.attrs, "network.peer.address"), "2001:db8::1");
	CHECK_INT_EQ(attr_int(&s2.attrs, "client.port"), 443);
	CHECK_INT_EQ(s2.status_code, TM_STATUS_ERROR);
	CHECK_INT_EQ(s2.status_message.len, 0);
	CHECK_STR_EQ(cstr(&s2.scope->name), "brave");
	CHECK_STR_EQ(cstr(&s2.scope->version), "5.18.0");
	CHECK(!attr(&s2.attrs, "otel.scope.name") && !attr(&s2.attrs, "otel.library.name"));
}

/* status and scope tags, messaging, rounding, spans without kind */
static void v2_other_fields(struct decoded *d)
{
	/* upper-case 128-bit ids; otel.status_description wins over error */
	struct tm_span p = span_at(&d->batch, 3, &d->arena);
	CHECK_STR_EQ(hex(p.trace_id, 16), "5af7183fb1d4cf5f5af7183fb1d4cf5f");
	CHECK_INT_EQ(p.kind, TM_KIND_PRODUCER);
	CHECK_INT_EQ(p.status_code, TM_STATUS_ERROR);
	CHECK_STR_EQ(cstr(&p.status_message), "broker down");
	CHECK_STR_EQ(attr_str(&p.attrs, "error"), "timeout");
	CHECK_STR_EQ(cstr(&p.scope->name), "kafkajs");
	CHECK_STR_EQ(cstr(&p.scope->version), "2.2.4");
	CHECK_STR_EQ(attr_str(&p.attrs, "peer.service"), "kafka");
	/* numbers with a fraction round to the µs; an unknown status code stays
	 * a tag; a library version unlike the scope's stays too */
	struct tm_span k = span_at(&d->batch, 4, &d->arena);
	CHECK_INT_EQ(k.kind, TM_KIND_CONSUMER);
	CHECK_INT_EQ(k.start_ns, 1556604172356200000ull);
	CHECK_INT_EQ(k.end_ns, 1556604172356200000ull + 8000ull);
	CHECK_INT_EQ(k.status_code, TM_STATUS_UNSET);
	CHECK_STR_EQ(attr_str(&k.attrs, "otel.status_code"), "maybe");
	CHECK_STR_EQ(attr_str(&k.attrs, "otel.library.version"), "0.9");
	CHECK_STR_EQ(cstr(&k.scope->version), "1.0");
	CHECK_STR_EQ(attr_str(&k.attrs, "server.address"), "10.1.1.1");
	/* no kind: INTERNAL, and the remote endpoint has no role names */
	struct tm_span l = span_at(&d->batch, 5, &d->arena);
	CHECK_INT_EQ(l.kind, TM_KIND_INTERNAL);
	CHECK_STR_EQ(attr_str(&l.attrs, "network.peer.address"), "10.1.1.2");
	CHECK(!attr(&l.attrs, "server.address") && !attr(&l.attrs, "client.address"));
}

static void v2_fields(void)
{
	struct decoded d;
	if (!decode_file("v2_shared_64bit.json", tm_ingest_zipkin_v2_json, &d)) {
		CHECK_INT_EQ(d.batch.n_spans, 6);
		v2_client_fields(&d);
		v2_shared_fields(&d);
		v2_other_fields(&d);
		/* one resource per distinct endpoint, one scope per distinct scope */
		CHECK_INT_EQ(d.batch.n_resources, 4);
		CHECK_INT_EQ(d.batch.n_scopes, 4);
	}
	decoded_free(&d);
}

/* one v1 span with cs/sr/ss/cr is two spans: the client's and the shared
 * server's, each with the tags and events of its endpoint */
static void v1_rpc_fields(struct decoded *d)
{
	struct tm_span c = span_at(&d->batch, 0, &d->arena), s = span_at(&d->batch, 1, &d->arena);
	CHECK_INT_EQ(c.kind, TM_KIND_CLIENT);
	CHECK_STR_EQ(attr_str(&c.resource->attrs, "service.name"), "frontend");
	CHECK_INT_EQ(c.start_ns, 1472470996199000000ull);
	CHECK_INT_EQ(c.end_ns - c.start_ns, 207000000ull);
	CHECK_STR_EQ(hex(c.parent_span_id, 8), "b1b2b3b4b5b6b7b8");
	CHECK_INT_EQ(c.flags, 1);
	CHECK_STR_EQ(attr_str(&c.attrs, "clnt/finagle.version"), "6.45.0");
	CHECK_STR_EQ(attr_str(&c.attrs, "ratio"), "0.5");   /* no endpoint: the first side */
	CHECK_STR_EQ(attr_str(&c.attrs, "peer.service"), "backend");
	CHECK_STR_EQ(attr_str(&c.attrs, "server.address"), "192.168.99.102");
	CHECK_INT_EQ(c.n_events, 0);
	CHECK_INT_EQ(s.kind, TM_KIND_SERVER);
	CHECK_STR_EQ(attr_str(&s.resource->attrs, "service.name"), "backend");
	CHECK_STR_EQ(hex(s.parent_span_id, 8), "a1a2a3a4a5a6a7a8");   /* shared */
	CHECK_STR_EQ(attr_str(&s.attrs, "zipkin.parent_id"), "b1b2b3b4b5b6b7b8");
	CHECK_INT_EQ(s.start_ns, 1472470996238000000ull);
	CHECK_INT_EQ(s.end_ns, 1472470996403000000ull);
	CHECK_STR_EQ(attr_str(&s.attrs, "srv/finagle.version"), "6.44.0");
	CHECK_STR_EQ(attr_str(&s.attrs, "retried"), "false");
	CHECK_STR_EQ(attr_str(&s.attrs, "bytes"), "1234");
	CHECK_STR_EQ(attr_str(&s.attrs, "client.address"), "127.0.0.1");
	CHECK(attr(&s.attrs, "peer.service") == NULL);   /* "" is no name */
	CHECK_INT_EQ(s.n_events, 1);
	CHECK_STR_EQ(cstr(&s.events[0].name), "cache.hit");
}

/* local spans, messaging, an end annotation alone, addresses alone */
static void v1_other_fields(struct decoded *d)
{
	/* "lc" stays a tag; its endpoint makes the resource */
	struct tm_span l = span_at(&d->batch, 2, &d->arena);
	CHECK_INT_EQ(l.kind, TM_KIND_INTERNAL);
	CHECK_STR_EQ(attr_str(&l.attrs, "lc"), "compute");
	CHECK_INT_EQ(l.end_ns - l.start_ns, 1000000ull);
	/* producer and consumer in one span: the consumer side is shared */
	struct tm_span pr = span_at(&d->batch, 3, &d->arena), co = span_at(&d->batch, 4, &d->arena);
	CHECK_INT_EQ(pr.kind, TM_KIND_PRODUCER);
	CHECK_INT_EQ(pr.start_ns, 1472470996310000000ull);
	CHECK_STR_EQ(attr_str(&pr.attrs, "peer.service"), "kafka");
	CHECK_INT_EQ(co.kind, TM_KIND_CONSUMER);
	CHECK_INT_EQ(co.start_ns, 1472470996320000000ull);
	CHECK_INT_EQ(co.end_ns, 1472470996330000000ull);
	CHECK_STR_EQ(hex(co.parent_span_id, 8), "d1d2d3d4d5d6d7d8");
	CHECK_STR_EQ(attr_str(&co.resource->attrs, "service.name"), "billing");
	CHECK_STR_EQ(attr_str(&co.attrs, "server.address"), "10.2.2.2");
	/* a client side without a start: the end annotation stays an event */
	struct tm_span late = span_at(&d->batch, 5, &d->arena);
	CHECK_INT_EQ(late.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(late.start_ns, 0);
	CHECK_INT_EQ(late.n_events, 1);
	CHECK_STR_EQ(cstr(&late.events[0].name), "cr");
	/* no core annotations but ca and sa: the side of ca, remote sa */
	struct tm_span a = span_at(&d->batch, 6, &d->arena);
	CHECK_INT_EQ(a.kind, TM_KIND_INTERNAL);
	CHECK_STR_EQ(attr_str(&a.resource->attrs, "service.name"), "frontend");
	CHECK_STR_EQ(attr_str(&a.attrs, "peer.service"), "redis");
	CHECK_INT_EQ(a.start_ns, 1472470996350000000ull);
}

static void v1_fields(void)
{
	struct decoded d;
	if (!decode_file("v1_merged.json", tm_ingest_zipkin_v1_json, &d)) {
		CHECK_INT_EQ(d.batch.n_spans, 7);
		v1_rpc_fields(&d);
		v1_other_fields(&d);
	}
	decoded_free(&d);
}

/* zipkin-js, v1 and v2: joined server spans are children of their client */
static void zipkinjs_fields(void)
{
	static const char *const files[] = { "zipkinjs_v2.json", "zipkinjs_v1.json" };
	static const decode_fn fns[] = { tm_ingest_zipkin_v2_json, tm_ingest_zipkin_v1_json };
	for (int f = 0; f < 2; f++) {
		size_t len;
		char *body = read_file(files[f], &len);
		struct tm_arena arena;
		struct tm_batch batch;
		struct tm_ingest_report rep;
		if (!body)
			continue;
		CHECK_INT_EQ(decode(fns[f], body, len, &arena, &batch, &rep), 0);
		CHECK_INT_EQ(batch.n_spans, 7);
		struct tm_span root = span_at(&batch, 0, &arena), cl = span_at(&batch, 1, &arena);
		struct tm_span sv = span_at(&batch, 2, &arena), db = span_at(&batch, 3, &arena);
		CHECK_INT_EQ(root.has_parent, 0);
		CHECK_STR_EQ(cstr(&root.name), "get /checkout");
		CHECK_STR_EQ(attr_str(&root.attrs, "http.status_code"), "200");
		CHECK_STR_EQ(attr_str(&root.attrs, "client.address"), "10.0.0.99");
		CHECK_INT_EQ(attr_int(&root.attrs, "client.port"), 51000);
		CHECK(!memcmp(sv.span_id, cl.span_id, TM_SPAN_ID_LEN));
		CHECK(!memcmp(sv.parent_span_id, cl.span_id, TM_SPAN_ID_LEN));
		CHECK_STR_EQ(attr_str(&sv.attrs, "zipkin.parent_id"), hex(root.span_id, 8));
		CHECK_INT_EQ(sv.kind, TM_KIND_SERVER);
		CHECK_INT_EQ(cl.kind, TM_KIND_CLIENT);
		CHECK_INT_EQ(sv.end_ns - sv.start_ns, 226000000ull);
		CHECK_STR_EQ(cstr(&cl.status_message), "402");
		CHECK_STR_EQ(cstr(&sv.status_message), "payment declined");
		CHECK(!memcmp(db.parent_span_id, sv.span_id, TM_SPAN_ID_LEN));
		CHECK_STR_EQ(attr_str(&db.attrs, "peer.service"), "postgres");
		CHECK_INT_EQ(attr_int(&db.attrs, "server.port"), 5432);
		CHECK(attr(&db.attrs, "server.address") == NULL);
		tm_arena_clear(&arena);
		free(body);
	}
}

/*---- (c) protobuf ----*/

typedef Zipkin__Proto3__Span PbSpan;
typedef Zipkin__Proto3__Endpoint PbEndpoint;
typedef Zipkin__Proto3__Annotation PbAnnotation;
typedef Zipkin__Proto3__Span__TagsEntry PbTag;

static const uint8_t TRACE16[16] = { 0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f,
				     0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f };
static const uint8_t ID1[8] = { 0x6b, 0x22, 0x1d, 0x5b, 0xc9, 0xe6, 0x49, 0x6c };
static const uint8_t ID2[8] = { 0x35, 0x2b, 0xff, 0x9a, 0x74, 0xca, 0x9a, 0xd2 };
static const uint8_t IP4[4] = { 192, 168, 99, 1 };
static const uint8_t IP6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0x01 };

static ProtobufCBinaryData bytes(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b = { n, (uint8_t *)p };
	return b;
}

/* packs list into a malloc'ed buffer */
static uint8_t *pack(const Zipkin__Proto3__ListOfSpans *list, size_t *len)
{
	*len = zipkin__proto3__list_of_spans__get_packed_size(list);
	uint8_t *buf = malloc(*len + 1);
	zipkin__proto3__list_of_spans__pack(list, buf);
	return buf;
}

/* a client span, its shared server side (with a parent) and a local
 * child with a 64-bit trace id */
struct pb_fixture {
	PbEndpoint local, remote, local2;
	PbAnnotation ann;
	PbTag t1, t2, t3;
	PbTag *tags[3];
	PbAnnotation *anns[1];
	PbSpan client, server, local_span;
	PbSpan *spans[3];
	Zipkin__Proto3__ListOfSpans list;
};

static void pb_endpoints(struct pb_fixture *f)
{
	f->local = (PbEndpoint)ZIPKIN__PROTO3__ENDPOINT__INIT;
	f->remote = (PbEndpoint)ZIPKIN__PROTO3__ENDPOINT__INIT;
	f->local2 = (PbEndpoint)ZIPKIN__PROTO3__ENDPOINT__INIT;
	f->local.service_name = "frontend";
	f->local.ipv4 = bytes(IP4, 4);
	f->local.ipv6 = bytes(IP6, 16);
	f->local.port = 8080;
	f->remote.service_name = "backend";
	f->remote.ipv6 = bytes(IP6, 16);
	f->remote.port = 9000;
	f->local2.service_name = "backend";
}

static void pb_client(struct pb_fixture *f)
{
	PbSpan *c = &f->client;
	f->ann = (PbAnnotation)ZIPKIN__PROTO3__ANNOTATION__INIT;
	f->ann.timestamp = 1556604172355800;
	f->ann.value = "ws";
	f->anns[0] = &f->ann;
	PbTag *t[] = { &f->t1, &f->t2, &f->t3 };
	static const char *const kv[3][2] = {
		{ "http.path", "/api" }, { "error", "first" },
		{ "error", "timeout" },   /* a repeated map key: the last wins */
	};
	for (int i = 0; i < 3; i++) {
		*t[i] = (PbTag)ZIPKIN__PROTO3__SPAN__TAGS_ENTRY__INIT;
		t[i]->key = (char *)kv[i][0];
		t[i]->value = (char *)kv[i][1];
		f->tags[i] = t[i];
	}
	*c = (PbSpan)ZIPKIN__PROTO3__SPAN__INIT;
	c->trace_id = bytes(TRACE16, 16);
	c->id = bytes(ID1, 8);
	c->kind = ZIPKIN__PROTO3__SPAN__KIND__CLIENT;
	c->name = "get /api";
	c->timestamp = 1556604172355737;
	c->duration = 1431;
	c->local_endpoint = &f->local;
	c->remote_endpoint = &f->remote;
	c->n_annotations = 1, c->annotations = f->anns;
	c->n_tags = 3, c->tags = f->tags;
	c->debug = 1;
}

static void pb_fixture_init(struct pb_fixture *f)
{
	pb_endpoints(f);
	pb_client(f);
	PbSpan *s = &f->server, *l = &f->local_span;
	*s = (PbSpan)ZIPKIN__PROTO3__SPAN__INIT;
	s->trace_id = bytes(TRACE16, 16);
	s->id = bytes(ID1, 8);
	s->parent_id = bytes(ID2, 8);
	s->kind = ZIPKIN__PROTO3__SPAN__KIND__SERVER;
	s->name = "get /api";
	s->timestamp = 1556604172355900;
	s->duration = 1000;
	s->local_endpoint = &f->local2;
	s->shared = 1;
	*l = (PbSpan)ZIPKIN__PROTO3__SPAN__INIT;
	l->trace_id = bytes(TRACE16 + 8, 8);   /* 64-bit */
	l->id = bytes(ID2, 8);
	l->parent_id = bytes(ID1, 8);
	l->name = "compute";
	l->timestamp = 1556604172356000;
	l->duration = 1;
	f->spans[0] = &f->client, f->spans[1] = s, f->spans[2] = l;
	f->list = (Zipkin__Proto3__ListOfSpans)ZIPKIN__PROTO3__LIST_OF_SPANS__INIT;
	f->list.n_spans = 3;
	f->list.spans = f->spans;
}

static void proto_decoded(const struct pb_fixture *f)
{
	size_t len;
	uint8_t *buf = pack(&f->list, &len);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(tm_ingest_zipkin_proto, buf, len, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 3);
	char path[1024];
	snprintf(path, sizeof(path), "%s/proto_list.golden.json", data_dir);
	if (!batch_matches_golden(&batch, path))
		testutil_failures++;
	struct tm_span c = span_at(&batch, 0, &arena), s = span_at(&batch, 1, &arena);
	struct tm_span l = span_at(&batch, 2, &arena);
	CHECK_INT_EQ(c.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(c.flags, 1);
	CHECK_INT_EQ(c.start_ns, 1556604172355737000ull);
	CHECK_STR_EQ(cstr(&c.status_message), "timeout");
	CHECK_INT_EQ(c.attrs.n, 7);   /* 2 tags, peer.service, network.peer.*, server.* */
	CHECK_STR_EQ(attr_str(&c.attrs, "server.address"), "2001:db8::c001");
	const struct tm_attr *ip = attr(&c.resource->attrs, "host.ip");
	CHECK(ip && ip->value.type == TM_VAL_ARRAY && ip->value.u.array.n == 2);
	if (ip && ip->value.type == TM_VAL_ARRAY && ip->value.u.array.n == 2) {
		CHECK_STR_EQ(cstr(&ip->value.u.array.items[0].u.str), "192.168.99.1");
		CHECK_STR_EQ(cstr(&ip->value.u.array.items[1].u.str), "2001:db8::c001");
	}
	CHECK_INT_EQ(s.has_parent, 1);
	CHECK_STR_EQ(hex(s.parent_span_id, 8), "6b221d5bc9e6496c");
	CHECK_STR_EQ(attr_str(&s.attrs, "zipkin.parent_id"), "352bff9a74ca9ad2");
	CHECK_STR_EQ(hex(l.trace_id, 16), "00000000000000005af7183fb1d4cf5f");
	CHECK_INT_EQ(l.kind, TM_KIND_INTERNAL);
	CHECK_INT_EQ(l.end_ns - l.start_ns, 1000);
	tm_arena_clear(&arena);
	free(buf);
}

static void proto_refused(const struct pb_fixture *f, const char *want)
{
	size_t len;
	uint8_t *buf = pack(&f->list, &len);
	refused(tm_ingest_zipkin_proto, (char *)buf, len, want);
	free(buf);
}

/* wrong sizes and values, each named; each case undone after */
static void proto_refusals(struct pb_fixture *f)
{
	f->server.trace_id = bytes(TRACE16, 5);
	proto_refused(f, "spans[1].trace_id: expected 8 or 16 bytes");
	f->server.trace_id = bytes(TRACE16, 16);
	f->server.id = bytes(ID1, 4);
	proto_refused(f, "spans[1].id: expected 8 bytes, got 4");
	f->server.id = bytes(ID1, 8);
	f->server.parent_id = bytes(ID2, 7);
	proto_refused(f, "spans[1].parent_id");
	f->server.parent_id = bytes(ID2, 8);
	f->local.ipv4 = bytes(IP4, 3);
	proto_refused(f, "spans[0].local_endpoint.ipv4: expected 4");
	f->local.ipv4 = bytes(IP4, 4);
	f->remote.port = 70000;
	proto_refused(f, "remote_endpoint.port: 70000");
	f->remote.port = 9000;
	f->local_span.kind = 9;
	proto_refused(f, "spans[2].kind: unknown value 9");
	f->local_span.kind = 0;

	/* an empty body is an empty list; bytes that are no message are refused */
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(tm_ingest_zipkin_proto, "", 0, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 0);
	tm_arena_clear(&arena);
	static const char garbage[] = "\x0a\xff\xff\xff\xff\x0f\x01";
	refused(tm_ingest_zipkin_proto, garbage, sizeof(garbage) - 1,
		"not a valid zipkin.proto3.ListOfSpans");
	refused(tm_ingest_zipkin_proto, "[{\"traceId\":1}]", 15, "not a valid");
}

static void proto_list(void)
{
	struct pb_fixture f;
	pb_fixture_init(&f);
	proto_decoded(&f);
	proto_refusals(&f);
	proto_decoded(&f);   /* every change undone */
}

/*---- (d) refusals ----*/

#define T16 "\"traceId\":\"5af7183fb1d4cf5f\""
#define ID "\"id\":\"6b221d5bc9e6496c\""

static void bad_json(decode_fn fn)
{
	REFUSED(fn, "[{", "malformed JSON at line 1");
	REFUSED(fn, "[{" T16 "," ID "}] trailing", "malformed JSON");
	REFUSED(fn, "{" T16 "," ID "}", "expected a JSON array of spans, got an object");
	REFUSED(fn, "\"spans\"", "expected a JSON array of spans, got a string");
	REFUSED(fn, "[1]", "spans[0]: expected an object, got an integer");
	REFUSED(fn, "[{" ID "}]", "spans[0].traceId is missing");
	REFUSED(fn, "[{" T16 "}]", "spans[0].id is missing");
	REFUSED(fn, "[{\"traceId\":12345," ID "}]", "spans[0].traceId: expected a hex string, got an integer");
	REFUSED(fn, "[{\"traceId\":\"5af7183fb1d4cf5\"," ID "}]",
		"spans[0].traceId: expected 16 or 32 hex digits, got 15 characters");
	REFUSED(fn, "[{\"traceId\":\"5af7183fb1d4cf5f5\"," ID "}]", "got 17 characters");
	REFUSED(fn, "[{\"traceId\":\"5af7183fb1d4cf5g\"," ID "}]",
		"spans[0].traceId: \"5af7183fb1d4cf5g\" is not a hex ID");
	REFUSED(fn, "[{" T16 "," ID "},{" T16 ",\"id\":\"6b221d5bc9e6496\"}]",
		"spans[1].id: expected 16 hex digits, got 15 characters");
	REFUSED(fn, "[{" T16 ",\"id\":\"0x221d5bc9e6496c\"}]", "spans[0].id: \"0x221d5bc9e6496c\" is not a hex ID");
	REFUSED(fn, "[{" T16 "," ID ",\"parentId\":\"6b221d5b\"}]",
		"spans[0].parentId: expected 16 hex digits, got 8");
	REFUSED(fn, "[{" T16 "," ID ",\"name\":7}]", "spans[0].name: expected a string, got an integer");
	REFUSED(fn, "[{" T16 "," ID ",\"timestamp\":\"1556604172355737\"}]",
		"spans[0].timestamp: expected a non-negative integer, got a string");
	REFUSED(fn, "[{" T16 "," ID ",\"timestamp\":-1}]",
		"spans[0].timestamp: expected a non-negative integer, got -1");
	REFUSED(fn, "[{" T16 "," ID ",\"duration\":true}]", "spans[0].duration: expected a non-negative");
	REFUSED(fn, "[{" T16 "," ID ",\"debug\":\"true\"}]", "spans[0].debug: expected a boolean, got a string");
	REFUSED(fn, "[{" T16 "," ID ",\"annotations\":{}}]", "spans[0].annotations: expected an array, got an object");
	REFUSED(fn, "[{" T16 "," ID ",\"annotations\":[{\"value\":\"x\"}]}]",
		"spans[0].annotations[0].timestamp is missing");
	REFUSED(fn, "[{" T16 "," ID ",\"annotations\":[{\"timestamp\":1}]}]",
		"spans[0].annotations[0].value is missing");
	REFUSED(fn, "[{" T16 "," ID ",\"annotations\":[\"x\"]}]",
		"spans[0].annotations[0]: expected an object, got a string");
	/* deeper than jansson's limit (2048), inside a key nobody reads */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 64);
	int n = sprintf(deep, "[{" T16 "," ID ",\"x\":");
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	strcpy(deep + n + 2 * depth, "}]");
	refused(fn, deep, strlen(deep), "malformed JSON");
	free(deep);
}

static void bad_v2_json(void)
{
	decode_fn fn = tm_ingest_zipkin_v2_json;
	bad_json(fn);
	REFUSED(fn, "[{" T16 "," ID ",\"kind\":\"client\"}]",
		"spans[0].kind: \"client\" is not CLIENT, SERVER, PRODUCER or CONSUMER");
	REFUSED(fn, "[{" T16 "," ID ",\"kind\":3}]", "spans[0].kind: expected a string, got an integer");
	REFUSED(fn, "[{" T16 "," ID ",\"shared\":1}]", "spans[0].shared: expected a boolean");
	REFUSED(fn, "[{" T16 "," ID ",\"tags\":[]}]", "spans[0].tags: expected an object, got an array");
	REFUSED(fn, "[{" T16 "," ID ",\"tags\":{\"http.status_code\":200}}]",
		"spans[0].tags[\"http.status_code\"]: expected a string, got an integer");
	REFUSED(fn, "[{" T16 "," ID ",\"tags\":{\"error\":null}}]",
		"spans[0].tags[\"error\"]: expected a string, got null");
	REFUSED(fn, "[{" T16 "," ID ",\"localEndpoint\":\"frontend\"}]",
		"spans[0].localEndpoint: expected an object, got a string");
	REFUSED(fn, "[{" T16 "," ID ",\"remoteEndpoint\":{\"port\":70000}}]",
		"spans[0].remoteEndpoint.port: 70000 is not a port number");
	REFUSED(fn, "[{" T16 "," ID ",\"remoteEndpoint\":{\"port\":\"80\"}}]",
		"spans[0].remoteEndpoint.port: expected a non-negative integer, got a string");
	REFUSED(fn, "[{" T16 "," ID ",\"localEndpoint\":{\"ipv4\":[]}}]",
		"spans[0].localEndpoint.ipv4: expected a string, got an array");
}

static void bad_v1_json(void)
{
	decode_fn fn = tm_ingest_zipkin_v1_json;
	bad_json(fn);
	REFUSED(fn, "[{" T16 "," ID ",\"binaryAnnotations\":[{\"key\":\"k\",\"value\":{}}]}]",
		"spans[0].binaryAnnotations[0].value: expected a string, boolean or number, got an object");
	REFUSED(fn, "[{" T16 "," ID ",\"binaryAnnotations\":[{\"key\":\"k\"}]}]",
		"spans[0].binaryAnnotations[0].value: expected a string, boolean or number, got nothing");
	REFUSED(fn, "[{" T16 "," ID ",\"binaryAnnotations\":[{\"value\":\"v\"}]}]",
		"spans[0].binaryAnnotations[0].key is missing");
	REFUSED(fn, "[{" T16 "," ID ",\"binaryAnnotations\":[{\"key\":1,\"value\":\"v\"}]}]",
		"spans[0].binaryAnnotations[0].key: expected a string");
	REFUSED(fn, "[{" T16 "," ID ",\"annotations\":[{\"timestamp\":1,\"value\":\"cs\",\"endpoint\":7}]}]",
		"spans[0].annotations[0].endpoint: expected an object, got an integer");
	/* more endpoints than any real span has */
	char body[16384];
	int n = sprintf(body, "[{" T16 "," ID ",\"annotations\":[");
	for (int i = 0; i < 70; i++)
		n += sprintf(body + n, "%s{\"timestamp\":1,\"value\":\"v\",\"endpoint\":{\"serviceName\":\"s%d\"}}",
			     i ? "," : "", i);
	strcpy(body + n, "]}]");
	REFUSED(fn, body, "spans[0]: more than 64 endpoints in one span");
}

/* spans with all-zero IDs or impossible times are dropped one by one */
static void rejected_spans(void)
{
	static const char body[] =
		"[{\"traceId\":\"0000000000000000\"," ID "},"
		"{" T16 ",\"id\":\"0000000000000000\"},"
		"{" T16 "," ID ",\"timestamp\":18446744073709551,\"duration\":1000},"
		"{" T16 "," ID ",\"annotations\":[{\"timestamp\":18446744073709552,\"value\":\"x\"}]},"
		"{" T16 "," ID ",\"name\":\"kept\"}]";
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(tm_ingest_zipkin_v2_json, body, strlen(body), &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 1);
	CHECK_INT_EQ(rep.accepted, 1);
	CHECK_INT_EQ(rep.rejected, 4);
	CHECK_STR_EQ(rep.message, "spans[0]: traceId must not be all zeros");
	tm_arena_clear(&arena);
	/* the message of each reason */
	static const struct { const char *body, *want; } cases[] = {
		{ "[{" T16 ",\"id\":\"0000000000000000\"}]", "spans[0]: id must not be all zeros" },
		{ "[{" T16 "," ID ",\"timestamp\":18446744073709551,\"duration\":1000}]",
		  "spans[0]: timestamp + duration is past the year 2554" },
		{ "[{" T16 "," ID ",\"annotations\":[{\"timestamp\":18446744073709552,\"value\":\"x\"}]}]",
		  "spans[0]: an annotation's timestamp is past the year 2554" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT_EQ(decode(tm_ingest_zipkin_v2_json, cases[i].body, strlen(cases[i].body),
				    &arena, &batch, &rep), 0);
		CHECK_INT_EQ(rep.rejected, 1);
		CHECK_STR_EQ(rep.message, cases[i].want);
		tm_arena_clear(&arena);
	}
}

/* empty bodies are empty lists, as in Zipkin; a tight arena is -E2BIG */
static void empty_and_limits(void)
{
	static const char *const empty[] = { "", "[]", " \n\t[ ]\n", "  " };
	static const decode_fn fns[] = { tm_ingest_zipkin_v2_json, tm_ingest_zipkin_v1_json };
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	for (int f = 0; f < 2; f++)
		for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
			CHECK_INT_EQ(decode(fns[f], empty[i], strlen(empty[i]), &arena, &batch, &rep), 0);
			CHECK_INT_EQ(batch.n_spans, 0);
			tm_arena_clear(&arena);
		}
	refused(tm_ingest_zipkin_v2_json, "[\0]", 3, "malformed JSON");
	size_t len;
	char *body = read_file("otel_exporter.json", &len);
	for (int f = 0; body && f < 2; f++) {
		tm_arena_init(&arena, 4096);
		CHECK_INT_EQ(fns[f](body, len, &arena, &batch, &rep), -E2BIG);
		CHECK(strstr(rep.message, "needs more than 4096 bytes") != NULL);
		tm_arena_clear(&arena);
	}
	free(body);
}

/* the spans of a file repeated copies times in one array */
static char *repeat_spans(const char *file, size_t copies, size_t *len)
{
	size_t n;
	char *body = read_file(file, &n);
	if (!body)
		return NULL;
	char *open = memchr(body, '[', n), *close = body + n;
	while (close > body && close[-1] != ']')
		close--;
	size_t inner = (size_t)(close - 1 - (open + 1));
	char *out = malloc(copies * (inner + 1) + 2), *p = out;
	*p++ = '[';
	for (size_t i = 0; i < copies; i++) {
		memcpy(p, open + 1, inner);
		p += inner;
		*p++ = i + 1 < copies ? ',' : ']';
	}
	*len = (size_t)(p - out);
	free(body);
	return out;
}

/* big batches of real spans fit the arena the server gives their body */
static void big_bodies(void)
{
	static const struct { const char *file; decode_fn fn; size_t spans; } cases[] = {
		{ "zipkinjs_v1.json", tm_ingest_zipkin_v1_json, 7 },
		{ "zipkinjs_v2.json", tm_ingest_zipkin_v2_json, 7 },
		{ "otel_exporter.json", tm_ingest_zipkin_v2_json, 8 },
		{ "v1_merged.json", tm_ingest_zipkin_v1_json, 7 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *body = repeat_spans(cases[i].file, 1000, &len);
		struct tm_arena arena;
		struct tm_batch batch;
		struct tm_ingest_report rep;
		if (!body)
			continue;
		int rc = decode(cases[i].fn, body, len, &arena, &batch, &rep);
		if (rc)
			fprintf(stderr, "%s x1000: %s\n", cases[i].file, rep.message);
		CHECK_INT_EQ(rc, 0);
		CHECK_INT_EQ(batch.n_spans, 1000 * cases[i].spans);
		/* one service, one resource: not one per span */
		CHECK(batch.n_resources <= 8);
		tm_arena_clear(&arena);
		free(body);
	}
}

/* argv[1], else tests/data/zipkin beside this file (meson runs tests in the
 * build directory and compiles with a relative path to the source) */
static void find_data_dir(int argc, char **argv)
{
	if (argc > 1) {
		snprintf(data_dir, sizeof(data_dir), "%s", argv[1]);
		return;
	}
	const char *file = __FILE__, *slash = strrchr(file, '/');
	snprintf(data_dir, sizeof(data_dir), "%.*s%s../data/zipkin", slash ? (int)(slash - file) : 0,
		 file, slash ? "/" : "");
}

int main(int argc, char **argv)
{
	find_data_dir(argc, argv);
	golden_files();
	v1_equals_v2();
	otel_exporter_fields();
	v2_fields();
	v1_fields();
	zipkinjs_fields();
	proto_list();
	bad_v2_json();
	bad_v1_json();
	rejected_spans();
	empty_and_limits();
	big_bodies();
	return TEST_DONE();
}
