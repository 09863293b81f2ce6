/* test_ingest_jaeger.c - jaeger.thrift Batches (TBinaryProtocol) into batches.
 *
 * argv[1] is tests/data/jaeger, which holds
 * - client_<service>.thrift: the bodies jaeger-client 3.19 really POSTs for
 *   the three-service scenario (written by tests/clients/capture_jaeger.mjs),
 * - <name>.golden.json: what each decoded batch must look like, in OTLP/JSON
 *   (TM_UPDATE_GOLDEN=1 rewrites them; review them by eye).
 * Then hand-written batches: tags of every vType with all seven value fields
 * present, references of both kinds, logs, zero values, the tags that map to
 * OTLP fields, unknown fields at every level, fields in any order; spans
 * rejected one by one; bodies refused whole (-EBADMSG naming the offset);
 * the arena limit (-E2BIG).
 * TM_JAEGER_SEEDS=dir writes the hand-written bodies there (fuzz seeds). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_jaeger.h"
#include "testutil.h"
#include "thriftwriter.h"
#include "thrift.h"

static const char *data_dir = "tests/data/jaeger";

/*---- writing thrift (the basics are in thriftwriter.h) ----*/

static void w_bin(struct wbuf *w, const void *p, size_t n)
{
	w_be(w, (uint32_t)n, 4);
	w_bytes(w, p, n);
}

static void w_str_field(struct wbuf *w, int16_t id, const char *s)
{
	w_field(w, TM_THRIFT_STRING, id);
	w_bin(w, s, strlen(s));
}

static void w_i64_field(struct wbuf *w, int16_t id, int64_t v)
{
	w_field(w, TM_THRIFT_I64, id);
	w_be(w, (uint64_t)v, 8);
}

static void w_i32_field(struct wbuf *w, int16_t id, int32_t v)
{
	w_field(w, TM_THRIFT_I32, id);
	w_be(w, (uint32_t)v, 4);
}

static void w_list(struct wbuf *w, int16_t id, uint8_t elem, uint32_t n)
{
	w_field(w, TM_THRIFT_LIST, id);
	w_u8(w, elem);
	w_be(w, n, 4);
}

/* a Tag: all = 1 writes all seven value fields, as jaeger-client does */
struct ttag {
	const char *key;
	int32_t vtype;
	const char *s;
	double d;
	int b;
	int64_t l;
	const char *bin;
	size_t bin_len;
	int all;
};

#define T_STR(k, v) { .key = k, .vtype = 0, .s = v }
#define T_DOUBLE(k, v) { .key = k, .vtype = 1, .d = v }
#define T_BOOL(k, v) { .key = k, .vtype = 2, .b = v }
#define T_LONG(k, v) { .key = k, .vtype = 3, .l = v }
#define T_BIN(k, v, n) { .key = k, .vtype = 4, .bin = v, .bin_len = n }
/* every field set to something, vType picks one */
#define T_ALL(k, type) { .key = k, .vtype = type, .s = "str-" k, .d = 2.5, .b = 1, .l = -42, \
			 .bin = "\x00\xff", .bin_len = 2, .all = 1 }

static void w_tag(struct wbuf *w, const struct ttag *t)
{
	int all = t->all;
	if (t->key)
		w_str_field(w, 1, t->key);
	w_i32_field(w, 2, t->vtype);
	if (all || t->vtype == 0)
		w_str_field(w, 3, t->s ? t->s : "");
	if (all || t->vtype == 1) {
		uint64_t bits;
		memcpy(&bits, &t->d, 8);
		w_field(w, TM_THRIFT_DOUBLE, 4);
		w_be(w, bits, 8);
	}
	if (all || t->vtype == 2) {
		w_field(w, TM_THRIFT_BOOL, 5);
		w_u8(w, (uint8_t)t->b);
	}
	if (all || t->vtype == 3)
		w_i64_field(w, 6, t->l);
	if (all || t->vtype == 4) {
		w_field(w, TM_THRIFT_STRING, 7);
		w_bin(w, t->bin, t->bin_len);
	}
	w_u8(w, TM_THRIFT_STOP);
}

static void w_tags(struct wbuf *w, int16_t id, const struct ttag *tags, size_t n)
{
	w_list(w, id, TM_THRIFT_STRUCT, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		w_tag(w, &tags[i]);
}

struct tlog {
	int64_t ts_us;
	const struct ttag *fields;
	size_t n;
};

struct tref {
	int32_t type;
	int64_t low, high, id;
};

/* a Span; omit names required fields (by id bit) to leave out */
struct tspan {
	int64_t low, high, id, parent;
	const char *name;
	int32_t flags;
	int64_t start_us, dur_us;
	const struct ttag *tags;
	size_t n_tags;
	const struct tlog *logs;
	size_t n_logs;
	const struct tref *refs;
	size_t n_refs;
	unsigned omit;
	int unknown_fields;   /* adds fields 99 (struct) and 12 (map) */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void w_unknown_fields(struct wbuf *w)
{
	w_field(w, TM_THRIFT_STRUCT, 99);
	w_str_field(w, 1, "ignored");
	w_list(w, 2, TM_THRIFT_I64, 2);
	w_be(w, 1, 8);
	w_be(w, 2, 8);
	w_u8(w, TM_THRIFT_STOP);
	w_field(w, TM_THRIFT_MAP, 12);
	w_u8(w, TM_THRIFT_STRING);
	w_u8(w, TM_THRIFT_DOUBLE);
	w_be(w, 1, 4);
	w_bin(w, "k", 1);
	w_be(w, 0, 8);
}

static void w_span(struct wbuf *w, const struct tspan *s)
{
	if (!(s->omit & 1u << 1))
		w_i64_field(w, 1, s->low);
	if (!(s->omit & 1u << 2))
		w_i64_field(w, 2, s->high);
	if (!(s->omit & 1u << 3))
		w_i64_field(w, 3, s->id);
	if (!(s->omit & 1u << 4))
		w_i64_field(w, 4, s->parent);
	if (!(s->omit & 1u << 5))
		w_str_field(w, 5, s->name ? s->name : "");
	if (s->refs) {
		w_list(w, 6, TM_THRIFT_STRUCT, (uint32_t)s->n_refs);
		for (size_t i = 0; i < s->n_refs; i++) {
			w_i32_field(w, 1, s->refs[i].type);
			w_i64_field(w, 2, s->refs[i].low);
			w_i64_field(w, 3, s->refs[i].high);
			w_i64_field(w, 4, s->refs[i].id);
			w_u8(w, TM_THRIFT_STOP);
		}
	}
	if (s->unknown_fields)
		w_unknown_fields(w);
	if (!(s->omit & 1u << 7))
		w_i32_field(w, 7, s->flags);
	if (!(s->omit & 1u << 8))
		w_i64_field(w, 8, s->start_us);
	if (!(s->omit & 1u << 9))
		w_i64_field(w, 9, s->dur_us);
	if (s->tags)
		w_tags(w, 10, s->tags, s->n_tags);
	if (s->logs) {
		w_list(w, 11, TM_THRIFT_STRUCT, (uint32_t)s->n_logs);
		for (size_t i = 0; i < s->n_logs; i++) {
			w_i64_field(w, 1, s->logs[i].ts_us);
			w_tags(w, 2, s->logs[i].fields, s->logs[i].n);
			w_u8(w, TM_THRIFT_STOP);
		}
	}
	w_u8(w, TM_THRIFT_STOP);
}

static void w_process(struct wbuf *w, const char *service, const struct ttag *tags, size_t n)
{
	w_field(w, TM_THRIFT_STRUCT, 1);
	if (service)
		w_str_field(w, 1, service);
	if (tags)
		w_tags(w, 2, tags, n);
	w_u8(w, TM_THRIFT_STOP);
}

static void w_spans(struct wbuf *w, const struct tspan *spans, size_t n)
{
	w_list(w, 2, TM_THRIFT_STRUCT, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		w_span(w, &spans[i]);
}

/* a whole Batch: process first, then spans (as every client writes it) */
static void w_batch(struct wbuf *w, const char *service, const struct ttag *ptags, size_t np,
		    const struct tspan *spans, size_t n)
{
	w_process(w, service, ptags, np);
	w_spans(w, spans, n);
	w_u8(w, TM_THRIFT_STOP);
}

/*---- decoding ----*/

struct decoded {
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report report;
	int rc;
};

static void decode(struct decoded *d, const void *body, size_t len, size_t max_bytes)
{
	tm_arena_init(&d->arena, max_bytes);
	d->rc = tm_ingest_jaeger_thrift(body, len, &d->arena, &d->batch, &d->report);
}

static void decoded_clear(struct decoded *d)
{
	tm_arena_clear(&d->arena);
}

/* the i-th span of the batch, read back from its record */
static struct tm_span span_at(struct decoded *d, size_t i)
{
	struct tm_span s;
	memset(&s, 0, sizeof(s));
	if (i >= d->batch.n_spans) {
		CHECK(i < d->batch.n_spans);
		return s;
	}
	const struct tm_batch_span *bs = &d->batch.spans[i];
	memcpy(s.trace_id, bs->trace_id, TM_TRACE_ID_LEN);
	CHECK_INT_EQ(tm_span_decode(bs->rec, bs->rec_len, &d->arena, &s), 0);
	return s;
}

static struct tm_scope scope_at(struct decoded *d, size_t i)
{
	struct tm_scope sc;
	memset(&sc, 0, sizeof(sc));
	CHECK_INT_EQ(tm_scope_decode(d->batch.scopes[d->batch.spans[i].scope].data,
				     d->batch.scopes[d->batch.spans[i].scope].len, &d->arena, &sc), 0);
	return sc;
}

static const struct tm_attr *attr(const struct tm_attrs *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->items[i].key.len == strlen(key) && !memcmp(a->items[i].key.ptr, key, strlen(key)))
			return &a->items[i];
	return NULL;
}

static int str_eq(struct tm_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len);
}

static uint8_t *read_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(99);
	}
	uint8_t *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	return buf;
}

static void write_seed(const char *name, const struct wbuf *w)
{
	const char *dir = getenv("TM_JAEGER_SEEDS");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.thrift", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(w->data, 1, w->len, f);
		fclose(f);
	}
}

static int golden(struct decoded *d, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.golden.json", data_dir, name);
	return batch_matches_golden(&d->batch, path);
}

/*---- what jaeger-client sends ----*/

static void test_client_batch(const char *service, size_t spans)
{
	char name[64];
	size_t len;
	snprintf(name, sizeof(name), "client_%s.thrift", service);
	uint8_t *body = read_file(name, &len);
	struct decoded d;
	decode(&d, body, len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, spans);
	CHECK_INT_EQ(d.report.rejected, 0);
	CHECK_INT_EQ(d.batch.n_resources, 1);
	CHECK(d.batch.n_resources == 1 && str_eq(d.batch.services[0], service));
	snprintf(name, sizeof(name), "client_%s", service);
	CHECK(golden(&d, name));
	decoded_clear(&d);
	free(body);
}

/* the payment batch in detail: the error span and its exception log */
static void test_client_error_span(void)
{
	size_t len;
	uint8_t *body = read_file("client_payment.thrift", &len);
	struct decoded d;
	decode(&d, body, len, 0);
	CHECK_INT_EQ(d.rc, 0);
	int found = 0;
	for (size_t i = 0; i < d.batch.n_spans; i++) {
		struct tm_span s = span_at(&d, i);
		if (s.kind != TM_KIND_SERVER)
			continue;
		found = 1;
		CHECK(str_eq(s.name, "POST /charge"));
		CHECK_INT_EQ(s.status_code, TM_STATUS_ERROR);
		CHECK(attr(&s.attrs, "error") == NULL);
		CHECK(attr(&s.attrs, "span.kind") == NULL);
		CHECK_INT_EQ(s.flags, 1);
		CHECK(s.has_parent);
		CHECK_INT_EQ(s.end_ns - s.start_ns, 176000000);   /* 52 ms .. 228 ms */
		const struct tm_attr *code = attr(&s.attrs, "http.status_code");
		CHECK(code && code->value.type == TM_VAL_DOUBLE && code->value.u.dbl == 402);
		CHECK_INT_EQ(s.n_events, 1);
		if (s.n_events == 1) {
			CHECK(str_eq(s.events[0].name, "error"));
			CHECK(attr(&s.events[0].attrs, "event") == NULL);
			CHECK(attr(&s.events[0].attrs, "error.kind") != NULL);
			CHECK(attr(&s.events[0].attrs, "stack") != NULL);
		}
	}
	CHECK(found);
	decoded_clear(&d);
	free(body);
}

/*---- hand-written batches ----*/

#define TRACE_HIGH 0x0102030405060708LL
#define TRACE_LOW 0x1112131415161718LL

static const struct ttag every_vtype[] = {
	T_ALL("all.string", 0), T_ALL("all.double", 1), T_ALL("all.bool", 2),
	T_ALL("all.long", 3), T_ALL("all.binary", 4),
};

static const struct ttag zero_values[] = {
	T_STR("zero.string", ""), T_DOUBLE("zero.double", 0), T_BOOL("zero.bool", 0),
	T_LONG("zero.long", 0), T_BIN("zero.binary", "", 0),
	T_LONG("min.long", INT64_MIN), T_DOUBLE("neg.double", -1.5e-300),
};

/* the tags that become OTLP fields, and look-alikes that must stay */
static const struct ttag meta_tags[] = {
	T_STR("span.kind", "producer"),
	T_BOOL("error", 1),
	T_STR("otel.status_code", "OK"),          /* error = true wins */
	T_STR("otel.status_description", "it broke"),
	T_STR("w3c.tracestate", "vendor=abc,other=x"),
	T_STR("otel.scope.name", "my-lib"),
	T_STR("otel.scope.version", "1.2.3"),
	T_STR("otel.library.name", "old-lib"),    /* stays: otel.scope.name came first */
	T_STR("sampler.type", "const"),
	T_BOOL("sampler.param", 1),
};

static const struct ttag log_fields_event[] = {
	T_STR("event", "exception"), T_STR("exception.type", "IOError"),
	T_LONG("exception.count", 3),
};
static const struct ttag log_fields_plain[] = { T_STR("message", "no event here"),
						T_DOUBLE("ratio", 0.5) };
static const struct ttag log_fields_odd_event[] = { T_LONG("event", 7) };   /* not a name */

static const struct tlog every_log[] = {
	{ 1700000000100000, log_fields_event, N(log_fields_event) },
	{ 1700000000200000, log_fields_plain, N(log_fields_plain) },
	{ 1700000000300000, log_fields_odd_event, N(log_fields_odd_event) },
	{ 1700000000400000, NULL, 0 },
};

static const struct tref refs_with_parent[] = {
	{ 0, TRACE_LOW, TRACE_HIGH, 0x2001 },          /* CHILD_OF the parent: no link */
	{ 1, TRACE_LOW, TRACE_HIGH, 0x2002 },          /* FOLLOWS_FROM: link */
	{ 0, 0x77, 0x66, 0x2003 },                     /* CHILD_OF another trace: link */
	{ 0, TRACE_LOW, TRACE_HIGH, 0x2004 },          /* a second CHILD_OF: link */
};

static const struct tref refs_only[] = {
	{ 1, TRACE_LOW, TRACE_HIGH, 0x3001 },          /* FOLLOWS_FROM first */
	{ 0, 0x77, 0x66, 0x3002 },                     /* CHILD_OF, other trace */
	{ 0, TRACE_LOW, TRACE_HIGH, 0x3003 },          /* first CHILD_OF here: the parent */
};

static const struct ttag process_tags[] = {
	T_ALL("hostname", 0), T_DOUBLE("host.cpu.count", 8), T_BOOL("app.canary", 1),
	T_LONG("process.pid", 4242), T_BIN("build.id", "\xde\xad\xbe\xef", 4),
};

static const struct ttag kind_server[] = { T_STR("span.kind", "server") };
static const struct ttag kind_odd[] = { T_STR("span.kind", "rpc"), T_BOOL("error", 0),
					T_STR("otel.status_code", "ERROR"),
					T_STR("otel.status_description", "bad"),
					T_STR("otel.scope.version", "9") };
static const struct ttag kind_client_ok[] = { T_STR("span.kind", "client"),
					      T_STR("otel.status_code", "ok"),
					      T_STR("otel.library.name", "legacy"),
					      T_STR("otel.library.version", "0.1") };
static const struct ttag kind_consumer[] = { T_STR("span.kind", "consumer"),
					     T_STR("error", "true"),
					     T_STR("otel.status_description", "no status, kept") };
static const struct ttag kind_internal[] = { T_STR("span.kind", "internal") };

static const struct tspan every_span[] = {
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1001, .parent = 0x2001,
	  .name = "every vType", .flags = 3, .start_us = 1700000000000000, .dur_us = 1500,
	  .tags = every_vtype, .n_tags = N(every_vtype), .logs = every_log, .n_logs = N(every_log),
	  .refs = refs_with_parent, .n_refs = N(refs_with_parent), .unknown_fields = 1 },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1002, .parent = 0,
	  .name = "zero values", .flags = 0, .start_us = 0, .dur_us = 0,
	  .tags = zero_values, .n_tags = N(zero_values), .refs = refs_only,
	  .n_refs = N(refs_only) },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1003, .parent = 0x1001,
	  .name = "meta tags", .flags = 1, .start_us = 1700000000000001, .dur_us = 1,
	  .tags = meta_tags, .n_tags = N(meta_tags) },
	{ .low = TRACE_LOW, .high = 0, .id = -1, .parent = INT64_MIN, .name = "",
	  .flags = 1, .start_us = 1700000000000000, .dur_us = 10,
	  .tags = kind_server, .n_tags = N(kind_server) },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1005, .name = "odd kind",
	  .start_us = 1, .dur_us = 2, .tags = kind_odd, .n_tags = N(kind_odd) },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1006, .name = "client ok",
	  .start_us = 1, .dur_us = 2, .tags = kind_client_ok, .n_tags = N(kind_client_ok) },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1007, .name = "consumer",
	  .start_us = 1, .dur_us = 2, .tags = kind_consumer, .n_tags = N(kind_consumer) },
	{ .low = TRACE_LOW, .high = TRACE_HIGH, .id = 0x1008, .name = "internal",
	  .start_us = 1, .dur_us = 2, .tags = kind_internal, .n_tags = N(kind_internal),
	  .refs = refs_only, .n_refs = 0 },
};

static void check_every_field_spans(struct decoded *d)
{
	struct tm_span s = span_at(d, 0);
	static const uint8_t trace_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
					      0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18 };
	CHECK(!memcmp(s.trace_id, trace_id, 16));
	CHECK(s.has_parent && s.parent_span_id[7] == 0x01 && s.parent_span_id[6] == 0x20);
	CHECK_INT_EQ(s.flags, 1);                 /* the debug bit (2) is not W3C's */
	CHECK_INT_EQ(s.start_ns, 1700000000000000000ULL);
	CHECK_INT_EQ(s.end_ns - s.start_ns, 1500000);
	CHECK_INT_EQ(s.attrs.n, 5);
	const struct tm_attr *a = attr(&s.attrs, "all.string");
	CHECK(a && a->value.type == TM_VAL_STRING && str_eq(a->value.u.str, "str-all.string"));
	a = attr(&s.attrs, "all.double");
	CHECK(a && a->value.type == TM_VAL_DOUBLE && a->value.u.dbl == 2.5);
	a = attr(&s.attrs, "all.bool");
	CHECK(a && a->value.type == TM_VAL_BOOL && a->value.u.boolean == 1);
	a = attr(&s.attrs, "all.long");
	CHECK(a && a->value.type == TM_VAL_INT && a->value.u.integer == -42);
	a = attr(&s.attrs, "all.binary");
	CHECK(a && a->value.type == TM_VAL_BYTES && a->value.u.str.len == 2);
	CHECK_INT_EQ(s.n_links, 3);               /* the parent's CHILD_OF is not a link */
	CHECK_INT_EQ(s.n_events, 4);
	CHECK(str_eq(s.events[0].name, "exception") && s.events[0].attrs.n == 2);
	CHECK(s.events[1].name.len == 0 && s.events[1].attrs.n == 2);
	CHECK(s.events[2].name.len == 0 && s.events[2].attrs.n == 1);   /* event = 7 stays */
	CHECK_INT_EQ(s.events[3].time_ns, 1700000000400000000ULL);

	s = span_at(d, 1);   /* parent from the first CHILD_OF in the same trace */
	CHECK(s.has_parent && s.parent_span_id[6] == 0x30 && s.parent_span_id[7] == 0x03);
	CHECK_INT_EQ(s.n_links, 2);
	CHECK_INT_EQ(s.start_ns, 0);
	CHECK_INT_EQ(s.attrs.n, N(zero_values));

	s = span_at(d, 2);
	CHECK_INT_EQ(s.kind, TM_KIND_PRODUCER);
	CHECK_INT_EQ(s.status_code, TM_STATUS_ERROR);
	CHECK(str_eq(s.status_message, "it broke"));
	CHECK(str_eq(s.trace_state, "vendor=abc,other=x"));
	CHECK_INT_EQ(s.attrs.n, 3);   /* otel.library.name, sampler.type, sampler.param */
	CHECK(attr(&s.attrs, "otel.library.name") && attr(&s.attrs, "sampler.type"));
	struct tm_scope sc = scope_at(d, 2);
	CHECK(str_eq(sc.name, "my-lib") && str_eq(sc.version, "1.2.3"));

	s = span_at(d, 3);   /* 64-bit trace ID, all-ones span ID, parent 0x80.. */
	CHECK(tm_id_is_zero(s.trace_id, 8));
	CHECK(s.span_id[0] == 0xff && s.span_id[7] == 0xff);
	CHECK(s.has_parent && s.parent_span_id[0] == 0x80 && s.parent_span_id[7] == 0);
	CHECK_INT_EQ(s.kind, TM_KIND_SERVER);

	s = span_at(d, 4);   /* unknown kind, error = false, status from otel.status_code */
	CHECK_INT_EQ(s.kind, TM_KIND_UNSPECIFIED);
	CHECK_INT_EQ(s.status_code, TM_STATUS_ERROR);
	CHECK(str_eq(s.status_message, "bad"));
	CHECK(attr(&s.attrs, "span.kind") && attr(&s.attrs, "error"));
	CHECK(attr(&s.attrs, "otel.scope.version"));   /* no name: stays */
	CHECK_INT_EQ(s.attrs.n, 3);

	s = span_at(d, 5);
	CHECK_INT_EQ(s.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(s.status_code, TM_STATUS_OK);
	CHECK_INT_EQ(s.attrs.n, 0);
	sc = scope_at(d, 5);
	CHECK(str_eq(sc.name, "legacy") && str_eq(sc.version, "0.1"));

	s = span_at(d, 6);   /* error as a string is no status; the description stays */
	CHECK_INT_EQ(s.kind, TM_KIND_CONSUMER);
	CHECK_INT_EQ(s.status_code, TM_STATUS_UNSET);
	CHECK_INT_EQ(s.attrs.n, 2);

	s = span_at(d, 7);
	CHECK_INT_EQ(s.kind, TM_KIND_INTERNAL);
	CHECK(!s.has_parent);
}

static void test_every_field(void)
{
	struct wbuf w = { 0 };
	/* unknown Batch fields around: seqNo (3), stats (4) and a field 50 */
	w_i64_field(&w, 3, 77);
	w_process(&w, "every-field", process_tags, N(process_tags));
	w_field(&w, TM_THRIFT_STRUCT, 4);
	w_i64_field(&w, 1, 0);
	w_i64_field(&w, 2, 0);
	w_i64_field(&w, 3, 0);
	w_u8(&w, TM_THRIFT_STOP);
	w_spans(&w, every_span, N(every_span));
	w_field(&w, TM_THRIFT_SET, 50);
	w_u8(&w, TM_THRIFT_DOUBLE);
	w_be(&w, 0, 4);
	w_u8(&w, TM_THRIFT_STOP);
	write_seed("every_field", &w);

	struct decoded d;
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_STR_EQ(d.report.message, "");
	CHECK_INT_EQ(d.report.accepted, N(every_span));
	CHECK_INT_EQ(d.batch.n_spans, N(every_span));
	CHECK_INT_EQ(d.batch.n_scopes, 3);   /* none, my-lib 1.2.3, legacy 0.1 */
	if (d.rc == 0 && d.batch.n_spans == N(every_span)) {
		check_every_field_spans(&d);
		CHECK(golden(&d, "every_field"));
	}
	struct tm_resource res;
	CHECK_INT_EQ(tm_resource_decode(d.batch.resources[0].data, d.batch.resources[0].len,
					&d.arena, &res), 0);
	CHECK_INT_EQ(res.attrs.n, 1 + N(process_tags));
	CHECK(str_eq(res.attrs.items[0].key, "service.name") &&
	      str_eq(res.attrs.items[0].value.u.str, "every-field"));
	const struct tm_attr *a = attr(&res.attrs, "hostname");
	CHECK(a && a->value.type == TM_VAL_STRING && str_eq(a->value.u.str, "str-hostname"));
	a = attr(&res.attrs, "process.pid");
	CHECK(a && a->value.type == TM_VAL_INT && a->value.u.integer == 4242);

	/* the body may be reused once the decoder returned: nothing points into it */
	char *before = batch_dump_otlp_json(&d.batch);
	memset(w.data, 0xee, w.len);
	char *after = batch_dump_otlp_json(&d.batch);
	CHECK(before && after && !strcmp(before, after));
	free(before);
	free(after);
	decoded_clear(&d);
	w_free(&w);
}

/* spans before the process, an empty service name, no process tags */
static void test_field_order(void)
{
	static const struct tspan one[] = {
		{ .low = 5, .high = 0, .id = 6, .name = "late process", .flags = 1,
		  .start_us = 1000, .dur_us = 1000 },
	};
	struct wbuf w = { 0 };
	w_spans(&w, one, 1);
	w_process(&w, "", NULL, 0);
	w_u8(&w, TM_THRIFT_STOP);
	write_seed("spans_first", &w);
	struct decoded d;
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 1);
	CHECK(golden(&d, "spans_first"));
	struct tm_resource res;
	CHECK_INT_EQ(tm_resource_decode(d.batch.resources[0].data, d.batch.resources[0].len,
					&d.arena, &res), 0);
	CHECK_INT_EQ(res.attrs.n, 0);   /* no service.name for an empty serviceName */
	decoded_clear(&d);
	w_free(&w);

	/* an empty Batch is fine and stores nothing */
	w_batch(&w, "idle", NULL, 0, NULL, 0);
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 0);
	CHECK_INT_EQ(d.batch.n_spans, 0);
	decoded_clear(&d);
	w_free(&w);
}

/*---- spans rejected alone ----*/

static const struct ttag bad_vtype[] = { T_STR("fine", "x"), { .key = "weird", .vtype = 5 } };
static const struct ttag keyless[] = { { .key = NULL, .vtype = 0, .s = "v" } };
static const struct tref bad_ref[] = { { 2, 1, 1, 1 } };
static const struct ttag ok_tag[] = { T_STR("k", "v") };
static const struct tlog bad_log_time[] = { { -1, ok_tag, 1 } };

static const struct tspan mixed_spans[] = {
	{ .low = 1, .high = 0, .id = 1, .name = "good 1", .flags = 1, .start_us = 10, .dur_us = 5 },
	{ .low = 0, .high = 0, .id = 2, .name = "zero trace", .start_us = 10, .dur_us = 5 },
	{ .low = 1, .high = 0, .id = 0, .name = "zero span id", .start_us = 10, .dur_us = 5 },
	{ .low = 1, .high = 0, .id = 3, .name = "negative duration", .start_us = 10, .dur_us = -5 },
	{ .low = 1, .high = 0, .id = 4, .name = "negative start", .start_us = -10, .dur_us = 5 },
	{ .low = 1, .high = 0, .id = 5, .name = "past 2554", .start_us = INT64_MAX - 5,
	  .dur_us = 5 },
	{ .low = 1, .high = 0, .id = 6, .name = "overflow", .start_us = 1000,
	  .dur_us = INT64_MAX },
	{ .low = 1, .high = 0, .id = 7, .name = "unknown vType", .start_us = 10, .dur_us = 5,
	  .tags = bad_vtype, .n_tags = N(bad_vtype) },
	{ .low = 1, .high = 0, .id = 8, .name = "unknown refType", .start_us = 10, .dur_us = 5,
	  .refs = bad_ref, .n_refs = 1 },
	{ .low = 1, .high = 0, .id = 9, .name = "no duration", .start_us = 10, .omit = 1u << 9 },
	{ .low = 1, .high = 0, .id = 10, .name = "no traceIdHigh", .start_us = 10, .dur_us = 5,
	  .omit = 1u << 2 },
	{ .low = 1, .high = 0, .id = 11, .name = "tag without key", .start_us = 10, .dur_us = 5,
	  .tags = keyless, .n_tags = 1 },
	{ .low = 1, .high = 0, .id = 12, .name = "log before 1970", .start_us = 10, .dur_us = 5,
	  .logs = bad_log_time, .n_logs = 1 },
	{ .low = 1, .high = 0, .id = 13, .name = "good 2", .start_us = 10, .dur_us = 5 },
};

static void test_rejected_spans(void)
{
	struct wbuf w = { 0 };
	w_batch(&w, "mixed", NULL, 0, mixed_spans, N(mixed_spans));
	write_seed("rejected_spans", &w);
	struct decoded d;
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 2);
	CHECK_INT_EQ(d.report.rejected, N(mixed_spans) - 2);
	CHECK_INT_EQ(d.batch.n_spans, 2);
	CHECK(strstr(d.report.message, "Batch.spans[1]: trace ID is 0") == d.report.message);
	CHECK(strstr(d.report.message, "byte offset") != NULL);
	if (d.batch.n_spans == 2) {
		CHECK(str_eq(span_at(&d, 0).name, "good 1"));
		CHECK(str_eq(span_at(&d, 1).name, "good 2"));
	}
	decoded_clear(&d);
	w_free(&w);

	/* each reason, alone (the first rejected span's reason is the message) */
	static const struct { size_t i; const char *why; } reasons[] = {
		{ 2, "spanId is 0" }, { 3, "duration -5 is negative" },
		{ 4, "startTime -10 is negative" }, { 5, "is past the year 2554" },
		{ 6, "startTime + duration overflows" },
		{ 7, "tag \"weird\" has an unknown vType 5" },
		{ 8, "SpanRef has an unknown refType 2" },
		{ 9, "Span without its required field 9 (duration)" },
		{ 10, "Span without its required field 2 (traceIdHigh)" },
		{ 11, "Tag without its required field 1 (key)" },
		{ 12, "Log.timestamp -1 is negative" },
	};
	for (size_t k = 0; k < N(reasons); k++) {
		w_batch(&w, "one", NULL, 0, &mixed_spans[reasons[k].i], 1);
		decode(&d, w.data, w.len, 0);
		CHECK_INT_EQ(d.rc, 0);
		CHECK_INT_EQ(d.report.rejected, 1);
		CHECK_INT_EQ(d.report.accepted, 0);
		if (!strstr(d.report.message, reasons[k].why))
			fprintf(stderr, "want \"%s\" in \"%s\"\n", reasons[k].why, d.report.message);
		CHECK(strstr(d.report.message, reasons[k].why) != NULL);
		decoded_clear(&d);
		w_free(&w);
	}
}

/*---- bodies refused whole ----*/

/* decodes and expects -EBADMSG with every word of want in the message */
static void expect_bad(const void *body, size_t len, const char *want)
{
	struct decoded d;
	decode(&d, body, len, 0);
	CHECK_INT_EQ(d.rc, -EBADMSG);
	CHECK(strstr(d.report.message, "not a TBinaryProtocol jaeger.thrift Batch: ") ==
	      d.report.message);
	if (!strstr(d.report.message, want))
		fprintf(stderr, "want \"%s\" in \"%s\"\n", want, d.report.message);
	CHECK(strstr(d.report.message, want) != NULL);
	decoded_clear(&d);
}

static void test_every_prefix(void)
{
	size_t len;
	uint8_t *body = read_file("client_checkout.thrift", &len);
	size_t bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);   /* exact size: ASan/valgrind see overreads */
		memcpy(copy, body, cut);
		struct decoded d;
		decode(&d, copy, cut, 0);
		if (d.rc != -EBADMSG || !strstr(d.report.message, "byte offset")) {
			if (!bad++)
				fprintf(stderr, "prefix %zu: rc %d, %s\n", cut, d.rc, d.report.message);
		}
		decoded_clear(&d);
		free(copy);
	}
	CHECK_INT_EQ(bad, 0);
	free(body);
}

static void test_bad_bodies(void)
{
	expect_bad("", 0, "field header needs 1 bytes, 0 left at byte offset 0");
	expect_bad("\x00", 1, "Batch without its process (field 1) at byte offset 1");
	/* a JSON body sent by mistake */
	expect_bad("{\"spans\":[]}", 12, "field type 123 is not a thrift type at byte offset 0");

	struct wbuf w = { 0 };
	/* serviceName of length 2^31-1 */
	w_field(&w, TM_THRIFT_STRUCT, 1);
	w_field(&w, TM_THRIFT_STRING, 1);
	w_be(&w, 0x7fffffff, 4);
	w_bytes(&w, "abc", 3);
	write_seed("bad_huge_string", &w);
	expect_bad(w.data, w.len, "string length 2147483647 exceeds the 3 bytes left at byte "
		   "offset 6 (in Batch.process)");
	w_free(&w);

	/* a negative span count */
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 0xfffffffe);
	expect_bad(w.data, w.len, "negative list size -2 at byte offset");
	w_free(&w);

	/* 2^31-1 spans announced */
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 0x7fffffff);
	w_u8(&w, 0);
	write_seed("bad_huge_list", &w);
	expect_bad(w.data, w.len, "list of 2147483647 elements needs at least 2147483647 bytes");
	w_free(&w);

	/* an unknown field type inside a span (in Batch.spans[0]) */
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 1);
	w_i64_field(&w, 1, 1);
	w_field(&w, 9, 20);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "field type 9 is not a thrift type at byte offset 33 "
		   "(in Batch.spans[0])");
	w_free(&w);

	/* a known field of the wrong type */
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 1);
	w_str_field(&w, 3, "1234");
	w_u8(&w, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Span.spanId (3) is string, expected i64 at byte offset 22 (in Batch.spans[0])");
	w_free(&w);

	/* tags that are a list of strings */
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 1);
	w_list(&w, 10, TM_THRIFT_STRING, 0);
	w_u8(&w, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Span.tags (10) is a list of string, expected a list of struct");
	w_free(&w);

	/* no spans; spans twice; bytes after the end; process not a struct */
	w_process(&w, "svc", NULL, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Batch without its spans (field 2)");
	w_free(&w);
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Batch field 2 appears twice at byte offset 22");
	w_free(&w);
	w_batch(&w, "svc", NULL, 0, NULL, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "1 bytes after the end of the Batch");
	w_free(&w);
	w_str_field(&w, 1, "svc");
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Batch.process (1) is string, expected struct at byte offset 0");
	w_free(&w);

	/* a process without serviceName; a process tag of unknown vType */
	w_process(&w, NULL, ok_tag, 1);
	w_list(&w, 2, TM_THRIFT_STRUCT, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Process: Process without its required field 1 (serviceName)");
	w_free(&w);
	w_process(&w, "svc", bad_vtype, N(bad_vtype));
	w_list(&w, 2, TM_THRIFT_STRUCT, 0);
	w_u8(&w, 0);
	expect_bad(w.data, w.len, "Process: tag \"weird\" has an unknown vType 5 at byte offset");
	w_free(&w);
}

/* an unknown field of a span that nests 10,000 structs deep */
static void test_deep_nesting(void)
{
	struct wbuf w = { 0 };
	w_process(&w, "svc", NULL, 0);
	w_list(&w, 2, TM_THRIFT_STRUCT, 1);
	for (int i = 0; i < 10000; i++)
		w_field(&w, TM_THRIFT_STRUCT, 77);
	for (int i = 0; i <= 10000; i++)
		w_u8(&w, 0);
	w_u8(&w, 0);
	write_seed("bad_deep_nesting", &w);
	expect_bad(w.data, w.len, "containers nested deeper than 64 levels");
	w_free(&w);

	/* and lists of lists, as an unknown Batch field */
	w_field(&w, TM_THRIFT_LIST, 9);
	for (int i = 0; i < 10000; i++) {
		w_u8(&w, TM_THRIFT_LIST);
		w_be(&w, 1, 4);
	}
	w_u8(&w, TM_THRIFT_I8);
	w_be(&w, 0, 4);
	expect_bad(w.data, w.len, "containers nested deeper than 64 levels");
	w_free(&w);
}

/* a span with one tag whose unknown field 9 holds levels nested structs */
static void w_deep_tag(struct wbuf *w, int levels)
{
	w_process(w, "svc", NULL, 0);
	w_list(w, 2, TM_THRIFT_STRUCT, 1);
	w_i64_field(w, 1, 1);
	w_i64_field(w, 2, 0);
	w_i64_field(w, 3, 1);
	w_i64_field(w, 4, 0);
	w_str_field(w, 5, "deep");
	w_i32_field(w, 7, 1);
	w_i64_field(w, 8, 1);
	w_i64_field(w, 9, 1);
	w_list(w, 10, TM_THRIFT_STRUCT, 1);
	w_str_field(w, 1, "k");
	w_i32_field(w, 2, 0);
	w_field(w, TM_THRIFT_STRUCT, 9);
	for (int i = 1; i < levels; i++)
		w_field(w, TM_THRIFT_STRUCT, 1);
	for (int i = 0; i < levels; i++)
		w_u8(w, 0);
	w_u8(w, 0);   /* Tag */
	w_u8(w, 0);   /* Span */
	w_u8(w, 0);   /* Batch */
}

/* the nesting limit holds for the body as a whole: Batch, spans, Span, tags
 * and Tag are five levels, so 59 more are the most a tag may hide, exactly
 * what tm_thrift_skip() allows for the same bytes */
static void test_nesting_limit(void)
{
	for (int levels = 58; levels <= 60; levels++) {
		struct wbuf w = { 0 };
		w_deep_tag(&w, levels);
		struct tm_thrift_reader r;
		tm_thrift_reader_init(&r, w.data, w.len);
		int skip_rc = tm_thrift_skip(&r, TM_THRIFT_STRUCT);
		struct decoded d;
		decode(&d, w.data, w.len, 0);
		CHECK_INT_EQ(d.rc, levels <= 59 ? 0 : -EBADMSG);
		CHECK_INT_EQ(skip_rc, levels <= 59 ? 0 : -EBADMSG);
		if (levels <= 59)
			CHECK_INT_EQ(d.report.accepted, 1);
		else
			CHECK(strstr(d.report.message, "nested deeper than 64 levels") != NULL);
		decoded_clear(&d);
		w_free(&w);
	}
}

/* a small body that needs a lot of memory is too big, not malformed */
static void test_arena_limit(void)
{
	static struct ttag many[2000];
	for (size_t i = 0; i < N(many); i++)
		many[i] = (struct ttag)T_BOOL("b", 1);
	struct tspan s = { .low = 1, .id = 1, .name = "big", .start_us = 1, .dur_us = 1,
			   .tags = many, .n_tags = N(many) };
	struct wbuf w = { 0 };
	w_batch(&w, "svc", NULL, 0, &s, 1);
	struct decoded d;
	decode(&d, w.data, w.len, 16 * 1024);
	CHECK_INT_EQ(d.rc, -E2BIG);
	CHECK(strstr(d.report.message, "needs more than 16384 bytes of memory") != NULL);
	decoded_clear(&d);
	decode(&d, w.data, w.len, 0);
	CHECK_INT_EQ(d.rc, 0);
	CHECK_INT_EQ(d.report.accepted, 1);
	decoded_clear(&d);
	w_free(&w);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		data_dir = argv[1];
	test_client_batch("frontend", 2);
	test_client_batch("checkout", 4);
	test_client_batch("payment", 2);
	test_client_error_span();
	test_every_field();
	test_field_order();
	test_rejected_spans();
	test_every_prefix();
	test_bad_bodies();
	test_deep_nesting();
	test_nesting_limit();
	test_arena_limit();
	return TEST_DONE();
}
