/* test_zipkin_json.c - server/zipkin_json.c.
 *
 * (a) hand-built spans covering every field and edge (no service, INTERNAL
 *     and unknown kinds, zero and sub-µs durations, status with and without
 *     a message, events with and without attributes, shared spans, 64-bit
 *     trace ids, non-UTF-8 bytes), parsed back with jansson;
 * (b) one span byte for byte, for Zipkin's key order;
 * (c) the tag walk equals the written tags, and the remote service rule;
 * (d) round trips: Zipkin bodies in DIR (argv[1], else tests/data/zipkin)
 *     decoded by the Zipkin ingest, written back, and compared field by
 *     field with what was sent. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_zipkin.h"
#include "store.h"
#include "testutil.h"
#include "zipkin_json.h"

static char data_dir[512];

/*---- helpers ----*/

static struct tm_str tstr(const char *s)
{
	return (struct tm_str){ s, strlen(s) };
}

static struct tm_value v_str(const char *s)
{
	return (struct tm_value){ .type = TM_VAL_STRING, .u.str = tstr(s) };
}

static struct tm_value v_int(int64_t i)
{
	return (struct tm_value){ .type = TM_VAL_INT, .u.integer = i };
}

static struct tm_value v_dbl(double d)
{
	return (struct tm_value){ .type = TM_VAL_DOUBLE, .u.dbl = d };
}

static struct tm_value v_bool(int b)
{
	return (struct tm_value){ .type = TM_VAL_BOOL, .u.boolean = b };
}

static struct tm_attr kv(const char *key, struct tm_value v)
{
	return (struct tm_attr){ tstr(key), v };
}

static void set_id(uint8_t *id, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		id[i] = (uint8_t)(first + i);
}

/* the node at a path like "0/tags/error", or NULL. */
static json_t *jpath(json_t *node, const char *path)
{
	char part[128];

	while (node && *path) {
		size_t n = strcspn(path, "/");
		snprintf(part, sizeof(part), "%.*s", (int)n, path);
		path += n + (path[n] == '/');
		if (json_is_array(node))
			node = json_array_get(node, strtoul(part, NULL, 10));
		else
			node = json_object_get(node, part);
	}
	return node;
}

static const char *jstr(json_t *root, const char *path)
{
	return json_string_value(jpath(root, path));
}

static json_int_t jint(json_t *root, const char *path)
{
	return json_integer_value(jpath(root, path));
}

static size_t jsize(json_t *root, const char *path)
{
	json_t *n = jpath(root, path);
	return json_is_array(n) ? json_array_size(n) : json_object_size(n);
}

static json_t *parse(const struct tm_buf *b)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)b->data, b->len, JSON_ALLOW_NUL, &err);

	if (!root)
		fprintf(stderr, "jansson: %s at %d: %.300s\n", err.text, err.position,
			(const char *)b->data);
	return root;
}

/* the keys of an object in order, as "a,b,c" (jansson keeps their order). */
static const char *keys_of(json_t *obj)
{
	static char out[1024];
	const char *key;
	json_t *v;
	size_t o = 0;

	out[0] = '\0';
	json_object_foreach(obj, key, v)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? "," : "", key);
	return out;
}

/*---- (a) fixture ----*/

struct fixture {
	struct tm_value host_ips[2], arr_items[2];
	struct tm_attr res_attrs[2], map_items[1];
	struct tm_resource checkout, noname;
	struct tm_scope lib;
	struct tm_attr a0[16], a1[6], a2[2], a3[5], a4[6], a6[3];
	struct tm_attr exc_attrs[2];
	struct tm_event events[3];
	struct tm_span spans[7];
	struct tm_trace trace;
};

static void fixture_span(struct tm_span *s, uint8_t id, const struct tm_span *parent,
			 const struct tm_resource *res, const struct tm_scope *scope)
{
	set_id(s->trace_id, TM_TRACE_ID_LEN, 0xa0);
	set_id(s->span_id, TM_SPAN_ID_LEN, id);
	if (parent) {
		s->has_parent = 1;
		memcpy(s->parent_span_id, parent->span_id, TM_SPAN_ID_LEN);
	}
	s->name = tstr("op");
	s->start_ns = 1700000000000000000u;
	s->end_ns = 1700000000500000000u;
	s->resource = res;
	s->scope = scope;
}

/* the root: every value type, status ERROR with a message that wins over
 * the span's own error tag, events, scope, dropped counts */
static void fixture_root(struct fixture *f)
{
	struct tm_attr *a = f->a0;
	struct tm_span *s = &f->spans[0];

	f->arr_items[0] = v_str("a");
	f->arr_items[1] = v_int(1);
	f->map_items[0] = kv("k", v_str("v"));
	a[0] = kv("s", v_str("text"));
	a[1] = kv("i", v_int(-42));
	a[2] = kv("d", v_dbl(0.1));
	a[3] = kv("b", v_bool(1));
	a[4] = kv("bytes", (struct tm_value){ .type = TM_VAL_BYTES, .u.str = { "\x00\x01\x02\x03", 4 } });
	a[5] = kv("arr", (struct tm_value){ .type = TM_VAL_ARRAY, .u.array = { f->arr_items, 2 } });
	a[6] = kv("map", (struct tm_value){ .type = TM_VAL_KVLIST, .u.kvlist = { f->map_items, 1 } });
	a[7] = kv("empty", (struct tm_value){ .type = TM_VAL_EMPTY });
	a[8] = kv("weird\xff", v_str("a\x01\"\xff\xc3("));
	a[9] = kv("nan", v_dbl(NAN));
	a[10] = kv("error", v_str("from-attr"));          /* the status wins */
	a[11] = kv("otel.status_code", v_str("bogus"));   /* the status wins */
	a[12] = kv("s", v_str("second"));                 /* repeated: the first wins */
	a[13] = kv("big", v_dbl(1e300));
	a[14] = kv("otel.scope.name", v_str("not-the-scope"));
	a[15] = kv("ninf", v_dbl(-INFINITY));
	f->exc_attrs[0] = kv("exception.type", v_str("IOError"));
	f->exc_attrs[1] = kv("n", v_int(5));
	f->events[0] = (struct tm_event){ 1700000000250000999u, tstr("exception"),
					  { f->exc_attrs, 2, 0 } };
	f->events[1] = (struct tm_event){ 1700000000260000000u, tstr("ws"), { NULL, 0, 3 } };
	f->events[2] = (struct tm_event){ 1700000000270000000u, tstr("quote\"\xff"), { 0 } };
	fixture_span(s, 0x10, NULL, &f->checkout, &f->lib);
	s->kind = TM_KIND_SERVER;
	s->name = tstr("GET /\xc3");
	s->attrs = (struct tm_attrs){ a, 16, 2 };
	s->events = f->events;
	s->n_events = 3;
	s->dropped_events = 3;
	s->dropped_links = 4;
	s->status_code = TM_STATUS_ERROR;
	s->status_message = tstr("boom");
	s->trace_state = tstr("k=v");   /* no Zipkin field */
	s->flags = 1;                   /* not debug */
}

/* a client with everything Zipkin ingest derives from a remoteEndpoint */
static void fixture_client(struct fixture *f)
{
	struct tm_span *s = &f->spans[1];

	f->a1[0] = kv("http.method", v_str("GET"));
	f->a1[1] = kv("peer.service", v_str("backend"));
	f->a1[2] = kv("network.peer.address", v_str("172.19.0.2"));
	f->a1[3] = kv("network.peer.port", v_int(8080));
	f->a1[4] = kv("server.address", v_str("172.19.0.2"));
	f->a1[5] = kv("server.port", v_int(8080));
	fixture_span(s, 0x20, &f->spans[0], &f->checkout, &f->lib);
	s->kind = TM_KIND_CLIENT;
	s->attrs = (struct tm_attrs){ f->a1, 6, 0 };
	s->status_code = TM_STATUS_OK;
}

/* nothing known: no resource, no scope, no name, no times, INTERNAL */
static void fixture_bare(struct fixture *f)
{
	struct tm_span *s = &f->spans[2];

	f->a2[0] = kv("error", v_bool(0));   /* OpenTelemetry drops error=false */
	f->a2[1] = kv("x", v_str(""));
	fixture_span(s, 0x30, &f->spans[0], NULL, NULL);
	s->kind = TM_KIND_INTERNAL;
	s->name = tstr("");
	s->start_ns = s->end_ns = 0;
	s->attrs = (struct tm_attrs){ f->a2, 2, 0 };
}

/* the server side of a B3 shared span, as ingest stores it */
static void fixture_shared(struct fixture *f)
{
	struct tm_span *s = &f->spans[3];

	f->a3[0] = kv("error", v_str("true"));
	f->a3[1] = kv("network.peer.address", v_str("10.0.0.9"));
	f->a3[2] = kv("client.address", v_str("10.0.0.9"));
	f->a3[3] = kv("zipkin.parent_id", v_str("0102030405060708"));
	f->a3[4] = kv("client.port", v_int(1234));   /* no network.peer.port: a real tag */
	fixture_span(s, 0x20, NULL, &f->noname, NULL);
	s->has_parent = 1;
	memcpy(s->parent_span_id, s->span_id, TM_SPAN_ID_LEN);
	s->kind = TM_KIND_SERVER;
	s->attrs = (struct tm_attrs){ f->a3, 5, 0 };
	s->status_code = TM_STATUS_ERROR;   /* no message: the error tag's text */
	s->end_ns = s->start_ns + 1999;     /* 1.999 µs: 1 */
}

/* an OpenTelemetry client: a host name, an IPv6 peer, a sub-µs duration */
static void fixture_otel_client(struct fixture *f)
{
	struct tm_span *s = &f->spans[4];

	f->a4[0] = kv("server.address", v_str("db.internal"));
	f->a4[1] = kv("server.port", v_int(5432));
	f->a4[2] = kv("network.peer.address", v_str("2001:db8::1"));
	f->a4[3] = kv("network.peer.port", v_int(5432));
	f->a4[4] = kv("otel.dropped_links_count", v_str("attr"));   /* kept: count is 0 */
	f->a4[5] = kv("net.peer.name", v_str("ignored"));
	fixture_span(s, 0x40, &f->spans[0], &f->checkout, NULL);
	s->kind = TM_KIND_CLIENT;
	s->attrs = (struct tm_attrs){ f->a4, 6, 0 };
	s->status_code = TM_STATUS_ERROR;
	s->end_ns = s->start_ns + 500;
}

/* a 64-bit trace id and a kind Zipkin has no name for */
static void fixture_odd(struct fixture *f)
{
	struct tm_span *s = &f->spans[5];

	fixture_span(s, 0x50, &f->spans[0], &f->checkout, NULL);
	memset(s->trace_id, 0, 8);
	s->kind = 99;
	s->end_ns = s->start_ns - 1;   /* end before start: no duration */
	s->start_ns = 999;             /* under a µs: no timestamp */
	s->end_ns = 0;
}

/* the older semantic conventions for the peer */
static void fixture_consumer(struct fixture *f)
{
	struct tm_span *s = &f->spans[6];

	f->a6[0] = kv("net.peer.name", v_str("kafka"));
	f->a6[1] = kv("net.peer.ip", v_str("10.1.1.1"));
	f->a6[2] = kv("net.peer.port", v_int(9092));
	fixture_span(s, 0x60, &f->spans[0], &f->checkout, NULL);
	s->kind = TM_KIND_CONSUMER;
	s->attrs = (struct tm_attrs){ f->a6, 3, 0 };
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->host_ips[0] = v_str("fe80::1");
	f->host_ips[1] = v_str("10.0.0.1");
	f->res_attrs[0] = kv("service.name", v_str("checkout"));
	f->res_attrs[1] = kv("host.ip", (struct tm_value){ .type = TM_VAL_ARRAY,
							   .u.array = { f->host_ips, 2 } });
	f->checkout = (struct tm_resource){ { f->res_attrs, 2, 0 }, { 0 } };
	f->noname = (struct tm_resource){ { f->res_attrs + 1, 1, 0 }, { 0 } };
	f->lib = (struct tm_scope){ tstr("lib"), tstr("1.0"), { 0 }, { 0 } };
	fixture_root(f);
	fixture_client(f);
	fixture_bare(f);
	fixture_shared(f);
	fixture_otel_client(f);
	fixture_odd(f);
	fixture_consumer(f);
	f->trace = (struct tm_trace){ .spans = f->spans, .n_spans = 7 };
	memcpy(f->trace.trace_id, f->spans[0].trace_id, TM_TRACE_ID_LEN);
}

/*---- (a) checks ----*/

static void check_root(json_t *s)
{
	CHECK_STR_EQ(keys_of(s), "traceId,id,kind,name,timestamp,duration,localEndpoint,"
				 "annotations,tags");
	CHECK_STR_EQ(jstr(s, "traceId"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CHECK_STR_EQ(jstr(s, "id"), "1011121314151617");
	CHECK_STR_EQ(jstr(s, "kind"), "SERVER");
	CHECK_STR_EQ(jstr(s, "name"), "GET /\xef\xbf\xbd");
	CHECK_INT_EQ(jint(s, "timestamp"), 1700000000000000);
	CHECK_INT_EQ(jint(s, "duration"), 500000);
	CHECK_STR_EQ(keys_of(jpath(s, "localEndpoint")), "serviceName,ipv4,ipv6");
	CHECK_STR_EQ(jstr(s, "localEndpoint/serviceName"), "checkout");
	CHECK_STR_EQ(jstr(s, "localEndpoint/ipv4"), "10.0.0.1");
	CHECK_STR_EQ(jstr(s, "localEndpoint/ipv6"), "fe80::1");
	CHECK_INT_EQ(jsize(s, "annotations"), 3);
	CHECK_INT_EQ(jint(s, "annotations/0/timestamp"), 1700000000250000);
	CHECK_STR_EQ(jstr(s, "annotations/0/value"),
		     "\"exception\":{\"exception.type\":\"IOError\",\"n\":5}");
	CHECK_STR_EQ(jstr(s, "annotations/1/value"), "ws");   /* dropped attrs, none left */
	CHECK_STR_EQ(jstr(s, "annotations/2/value"), "quote\"\xef\xbf\xbd");
	CHECK_STR_EQ(keys_of(jpath(s, "tags")),
		     "s,i,d,b,bytes,arr,map,empty,weird\xef\xbf\xbd,nan,big,ninf,otel.status_code,"
		     "error,otel.scope.name,otel.scope.version,otel.dropped_attributes_count,"
		     "otel.dropped_events_count,otel.dropped_links_count");
	CHECK_STR_EQ(jstr(s, "tags/s"), "text");
	CHECK_STR_EQ(jstr(s, "tags/i"), "-42");
	CHECK_STR_EQ(jstr(s, "tags/d"), "0.1");
	CHECK_STR_EQ(jstr(s, "tags/b"), "true");
	CHECK_STR_EQ(jstr(s, "tags/bytes"), "AAECAw==");
	CHECK_STR_EQ(jstr(s, "tags/arr"), "[\"a\",1]");
	CHECK_STR_EQ(jstr(s, "tags/map"), "{\"k\":\"v\"}");
	CHECK_STR_EQ(jstr(s, "tags/empty"), "");
	CHECK_STR_EQ(jstr(s, "tags/weird\xef\xbf\xbd"), "a\x01\"\xef\xbf\xbd\xef\xbf\xbd(");
	CHECK_STR_EQ(jstr(s, "tags/nan"), "NaN");
	CHECK_STR_EQ(jstr(s, "tags/big"), "1e+300");
	CHECK_STR_EQ(jstr(s, "tags/ninf"), "-Infinity");
	CHECK_STR_EQ(jstr(s, "tags/otel.status_code"), "ERROR");
	CHECK_STR_EQ(jstr(s, "tags/error"), "boom");
	CHECK_STR_EQ(jstr(s, "tags/otel.scope.name"), "lib");
	CHECK_STR_EQ(jstr(s, "tags/otel.scope.version"), "1.0");
	CHECK_STR_EQ(jstr(s, "tags/otel.dropped_attributes_count"), "2");
	CHECK_STR_EQ(jstr(s, "tags/otel.dropped_events_count"), "3");
	CHECK_STR_EQ(jstr(s, "tags/otel.dropped_links_count"), "4");
}

static void check_client(json_t *s)
{
	CHECK_STR_EQ(keys_of(s), "traceId,parentId,id,kind,name,timestamp,duration,"
				 "localEndpoint,remoteEndpoint,tags");
	CHECK_STR_EQ(jstr(s, "parentId"), "1011121314151617");
	CHECK_STR_EQ(jstr(s, "kind"), "CLIENT");
	CHECK_STR_EQ(keys_of(jpath(s, "remoteEndpoint")), "serviceName,ipv4,port");
	CHECK_STR_EQ(jstr(s, "remoteEndpoint/serviceName"), "backend");
	CHECK_STR_EQ(jstr(s, "remoteEndpoint/ipv4"), "172.19.0.2");
	CHECK_INT_EQ(jint(s, "remoteEndpoint/port"), 8080);
	/* what ingest derived from the endpoint is not a tag */
	CHECK_STR_EQ(keys_of(jpath(s, "tags")), "http.method,otel.status_code,otel.scope.name,"
						 "otel.scope.version");
	CHECK_STR_EQ(jstr(s, "tags/otel.status_code"), "OK");
	CHECK(jpath(s, "tags/error") == NULL);
}

static void check_bare(json_t *s)
{
	CHECK_STR_EQ(keys_of(s), "traceId,parentId,id,tags");
	CHECK_STR_EQ(keys_of(jpath(s, "tags")), "x");
}

static void check_shared(json_t *s)
{
	CHECK_STR_EQ(keys_of(s), "traceId,parentId,id,kind,name,timestamp,duration,"
				 "localEndpoint,remoteEndpoint,tags,shared");
	CHECK_STR_EQ(jstr(s, "parentId"), "0102030405060708");
	CHECK_STR_EQ(jstr(s, "id"), "2021222324252627");
	CHECK(json_is_true(jpath(s, "shared")));
	CHECK_INT_EQ(jint(s, "duration"), 1);
	/* no service name: the endpoint has only the address */
	CHECK_STR_EQ(keys_of(jpath(s, "localEndpoint")), "ipv4,ipv6");
	CHECK_STR_EQ(keys_of(jpath(s, "remoteEndpoint")), "ipv4");
	CHECK_STR_EQ(jstr(s, "remoteEndpoint/ipv4"), "10.0.0.9");
	CHECK_STR_EQ(keys_of(jpath(s, "tags")), "client.port,otel.status_code,error");
	CHECK_STR_EQ(jstr(s, "tags/error"), "true");
}

static void check_otel_client(json_t *s)
{
	CHECK_INT_EQ(jint(s, "duration"), 1);
	CHECK_STR_EQ(keys_of(jpath(s, "remoteEndpoint")), "serviceName,ipv6,port");
	CHECK_STR_EQ(jstr(s, "remoteEndpoint/serviceName"), "db.internal");
	CHECK_STR_EQ(jstr(s, "remoteEndpoint/ipv6"), "2001:db8::1");
	CHECK_INT_EQ(jint(s, "remoteEndpoint/port"), 5432);
	/* a host name is a real tag; its port stays with it */
	CHECK_STR_EQ(keys_of(jpath(s, "tags")), "server.address,server.port,"
						 "otel.dropped_links_count,net.peer.name,"
						 "otel.status_code,error");
	CHECK_STR_EQ(jstr(s, "tags/server.port"), "5432");
	CHECK_STR_EQ(jstr(s, "tags/error"), "");
}

static void check_odd_and_consumer(json_t *odd, json_t *c)
{
	CHECK_STR_EQ(keys_of(odd), "traceId,parentId,id,name,localEndpoint");
	CHECK_STR_EQ(jstr(odd, "traceId"), "a8a9aaabacadaeaf");
	CHECK_STR_EQ(jstr(c, "kind"), "CONSUMER");
	CHECK_STR_EQ(keys_of(jpath(c, "remoteEndpoint")), "serviceName,ipv4,port");
	CHECK_STR_EQ(jstr(c, "remoteEndpoint/serviceName"), "kafka");
	CHECK_STR_EQ(jstr(c, "remoteEndpoint/ipv4"), "10.1.1.1");
	CHECK_INT_EQ(jint(c, "remoteEndpoint/port"), 9092);
	/* older conventions fill the endpoint and stay tags */
	CHECK_STR_EQ(keys_of(jpath(c, "tags")), "net.peer.name,net.peer.ip,net.peer.port");
}

static void test_fixture_spans(void)
{
	struct fixture f;
	struct tm_buf b;
	json_t *root;

	fixture_init(&f);
	tm_buf_init(&b);
	tm_zipkin_json_write_spans(&b, &f.trace);
	CHECK(!b.failed);
	root = parse(&b);
	CHECK(json_is_array(root));
	CHECK_INT_EQ(json_array_size(root), 7);
	if (json_array_size(root) == 7) {
		check_root(jpath(root, "0"));
		check_client(jpath(root, "1"));
		check_bare(jpath(root, "2"));
		check_shared(jpath(root, "3"));
		check_otel_client(jpath(root, "4"));
		check_odd_and_consumer(jpath(root, "5"), jpath(root, "6"));
	}
	json_decref(root);
	tm_buf_free(&b);
}

/* an array of traces; empty ones stay empty arrays */
static void test_traces(void)
{
	struct fixture f;
	struct tm_trace traces[3];
	struct tm_buf b;
	json_t *root;

	fixture_init(&f);
	traces[0] = f.trace;
	traces[1] = (struct tm_trace){ .spans = NULL, .n_spans = 0 };
	traces[2] = (struct tm_trace){ .spans = &f.spans[1], .n_spans = 1 };
	tm_buf_init(&b);
	tm_zipkin_json_write_traces(&b, traces, 3);
	root = parse(&b);
	CHECK_INT_EQ(json_array_size(root), 3);
	CHECK_INT_EQ(jsize(root, "0"), 7);
	CHECK_INT_EQ(jsize(root, "1"), 0);
	CHECK(json_is_array(jpath(root, "1")));
	CHECK_STR_EQ(jstr(root, "2/0/id"), "2021222324252627");
	json_decref(root);
	b.len = 0;
	tm_zipkin_json_write_traces(&b, traces, 0);
	CHECK(b.len == 2 && !memcmp(b.data, "[]", 2));
	b.len = 0;
	tm_zipkin_json_write_spans(&b, &traces[1]);
	CHECK(b.len == 2 && !memcmp(b.data, "[]", 2));
	tm_buf_free(&b);
}

/*---- (b) golden ----*/

static void test_golden_bytes(void)
{
	static const char golden[] =
		"[{\"traceId\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"parentId\":\"1011121314151617\","
		"\"id\":\"2021222324252627\",\"kind\":\"CLIENT\",\"name\":\"op\","
		"\"timestamp\":1700000000000000,\"duration\":500000,\"localEndpoint\":"
		"{\"serviceName\":\"checkout\",\"ipv4\":\"10.0.0.1\",\"ipv6\":\"fe80::1\"},"
		"\"remoteEndpoint\":{\"serviceName\":\"backend\",\"ipv4\":\"172.19.0.2\",\"port\":8080},"
		"\"tags\":{\"http.method\":\"GET\",\"otel.status_code\":\"OK\",\"otel.scope.name\":"
		"\"lib\",\"otel.scope.version\":\"1.0\"}}]";
	struct fixture f;
	struct tm_trace t;
	struct tm_buf b;

	fixture_init(&f);
	t = (struct tm_trace){ .spans = &f.spans[1], .n_spans = 1 };
	tm_buf_init(&b);
	tm_zipkin_json_write_spans(&b, &t);
	tm_buf_add(&b, "", 1);
	CHECK_STR_EQ((const char *)b.data, golden);
	tm_buf_free(&b);
}

/*---- (c) tag walk and remote service ----*/

struct collected {
	char text[2048];
	size_t len, n, stop_after;
};

static int collect_tag(void *ctx, struct tm_str key, struct tm_str value)
{
	struct collected *c = ctx;
	c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s%.*s=%.*s",
				   c->n ? "|" : "", (int)key.len, key.ptr, (int)value.len,
				   value.ptr);
	c->n++;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_foreach_tag(void)
{
	struct fixture f;
	struct collected c = { .stop_after = 0 };

	fixture_init(&f);
	CHECK_INT_EQ(tm_zipkin_json_foreach_tag(&f.spans[3], collect_tag, &c), 0);
	CHECK_STR_EQ(c.text, "client.port=1234|otel.status_code=ERROR|error=true");
	c = (struct collected){ .stop_after = 3 };
	CHECK_INT_EQ(tm_zipkin_json_foreach_tag(&f.spans[0], collect_tag, &c), 42);
	CHECK_STR_EQ(c.text, "s=text|i=-42|d=0.1");
	/* the walk matches the written tags for every fixture span */
	for (size_t i = 0; i < 7; i++) {
		struct tm_trace t = { .spans = &f.spans[i], .n_spans = 1 };
		struct tm_buf b;
		c = (struct collected){ .stop_after = 0 };
		CHECK_INT_EQ(tm_zipkin_json_foreach_tag(&f.spans[i], collect_tag, &c), 0);
		tm_buf_init(&b);
		tm_zipkin_json_write_spans(&b, &t);
		json_t *root = parse(&b);
		CHECK_INT_EQ(jsize(root, "0/tags"), c.n);
		json_decref(root);
		tm_buf_free(&b);
	}
}

static void test_remote_service(void)
{
	struct tm_attr a[4];
	struct tm_span s;
	struct tm_str out;

	memset(&s, 0, sizeof(s));
	s.attrs = (struct tm_attrs){ a, 0, 0 };
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 0);
	/* server.address names the callee of a client... */
	a[0] = kv("server.address", v_str("api.example.com"));
	a[1] = kv("net.peer.name", v_str("old-name"));
	s.attrs.n = 2;
	s.kind = TM_KIND_CLIENT;
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 1);
	CHECK(tm_str_eq(out, tstr("api.example.com")));
	/* ...but not of a server */
	s.kind = TM_KIND_SERVER;
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 1);
	CHECK(tm_str_eq(out, tstr("old-name")));
	/* nor when it is only the peer's IP that ingest copied there */
	s.kind = TM_KIND_PRODUCER;
	a[0] = kv("server.address", v_str("10.0.0.5"));
	a[1] = kv("network.peer.address", v_str("10.0.0.5"));
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 0);
	/* peer.service, then service.peer.name, before anything else */
	a[2] = kv("service.peer.name", v_str("svc"));
	a[3] = kv("peer.service", v_str(""));   /* empty: absent */
	s.attrs.n = 4;
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 1);
	CHECK(tm_str_eq(out, tstr("svc")));
	a[3] = kv("peer.service", v_str("peer"));
	CHECK_INT_EQ(tm_zipkin_json_remote_service(&s, &out), 1);
	CHECK(tm_str_eq(out, tstr("peer")));
}

/* random bytes in names, keys and values always give valid JSON */
static void test_random_bytes(void)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	char raw[4][16];
	struct tm_attr a[2];
	struct tm_event e;
	struct tm_span s;
	struct tm_trace t = { .spans = &s, .n_spans = 1 };
	struct tm_buf b;

	tm_buf_init(&b);
	for (int i = 0; i < 5000; i++) {
		size_t len[4];
		for (int k = 0; k < 4; k++) {
			len[k] = 0;
			for (size_t j = 0; j < sizeof(raw[k]); j++, len[k]++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				raw[k][j] = (char)(x & 1 ? 0x80 | (x >> 8) : x >> 8);
				if (!raw[k][j])   /* valid JSON, but jansson refuses NUL in keys */
					raw[k][j] = '0';
			}
			len[k] = x % sizeof(raw[k]);
		}
		memset(&s, 0, sizeof(s));
		set_id(s.trace_id, TM_TRACE_ID_LEN, 1);
		set_id(s.span_id, TM_SPAN_ID_LEN, 1);
		s.name = (struct tm_str){ raw[0], len[0] };
		a[0] = (struct tm_attr){ { raw[1], len[1] }, { .type = TM_VAL_STRING,
							       .u.str = { raw[2], len[2] } } };
		a[1] = kv("network.peer.address", (struct tm_value){ .type = TM_VAL_STRING,
								      .u.str = { raw[3], len[3] } });
		e = (struct tm_event){ 1, { raw[3], len[3] }, { a, 1, 0 } };
		s.attrs = (struct tm_attrs){ a, 2, 0 };
		s.events = &e;
		s.n_events = 1;
		s.status_code = TM_STATUS_ERROR;
		s.status_message = (struct tm_str){ raw[2], len[2] };
		b.len = 0;
		tm_zipkin_json_write_spans(&b, &t);
		json_t *root = parse(&b);
		CHECK(json_is_array(root));
		json_decref(root);
		if (!root)
			break;
	}
	tm_buf_free(&b);
}

/*---- (d) round trips through the Zipkin ingest ----*/

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

/* the batch's spans with their resources and scopes, as the store reads them */
static int batch_spans(const struct tm_batch *b, struct tm_arena *arena, struct tm_trace *t)
{
	struct tm_resource *res = tm_arena_zalloc(arena, (b->n_resources + 1) * sizeof(*res));
	struct tm_scope *scopes = tm_arena_zalloc(arena, (b->n_scopes + 1) * sizeof(*scopes));
	struct tm_span *spans = tm_arena_zalloc(arena, (b->n_spans + 1) * sizeof(*spans));
	int rc = !res || !scopes || !spans ? -ENOMEM : 0;

	for (size_t i = 0; !rc && i < b->n_resources; i++)
		rc = tm_resource_decode(b->resources[i].data, b->resources[i].len, arena, &res[i]);
	for (size_t i = 0; !rc && i < b->n_scopes; i++)
		rc = tm_scope_decode(b->scopes[i].data, b->scopes[i].len, arena, &scopes[i]);
	for (size_t i = 0; !rc && i < b->n_spans; i++) {
		const struct tm_batch_span *bs = &b->spans[i];
		memcpy(spans[i].trace_id, bs->trace_id, TM_TRACE_ID_LEN);
		rc = tm_span_decode(bs->rec, bs->rec_len, arena, &spans[i]);
		spans[i].resource = &res[bs->resource];
		spans[i].scope = &scopes[bs->scope];
	}
	*t = (struct tm_trace){ .spans = spans, .n_spans = b->n_spans };
	return rc;
}

/* Zipkin's normal form of an id: lower-case, left-padded to 16 or 32, and a
 * 32-digit one with a zero high half shortened to 16 */
static void norm_id(const char *in, char out[33], int is_trace)
{
	size_t len = strlen(in), width = len <= 16 ? 16 : 32, pad = width - len;

	memset(out, '0', pad);
	for (size_t i = 0; i < len; i++)
		out[pad + i] = (char)(in[i] >= 'A' && in[i] <= 'F' ? in[i] + 32 : in[i]);
	out[width] = '\0';
	if (is_trace && width == 32 && strspn(out, "0") >= 16)
		memmove(out, out + 16, 17);
}

static int is_zero_id(const char *s)
{
	return !*s || strspn(s, "0") == strlen(s);
}

/* a number as the ingest reads it: rounded to the microsecond */
static json_int_t usec(json_t *v)
{
	return json_is_number(v) ? (json_int_t)(json_number_value(v) + 0.5) : 0;
}

static const char *str_or_empty(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static void set_if(json_t *obj, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(obj, key, json_string(value));
}

static void check_equal(json_t *got, json_t *want, const char *file, size_t i,
			const char *what)
{
	if (json_equal(got, want))
		return;
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	fprintf(stderr, "%s span %zu %s:\n  got  %s\n  want %s\n", file, i, what,
		g ? g : "(absent)", w ? w : "(absent)");
	free(g);
	free(w);
	testutil_failures++;
}

/* the tags the ingest keeps from sent ones, and what it reads back as:
 * status and scope tags become the status and scope, peer.service goes
 * into the remote endpoint */
static json_t *expected_tags(json_t *sent_tags)
{
	json_t *e = sent_tags ? json_deep_copy(sent_tags) : json_object();
	const char *code = str_or_empty(sent_tags, "otel.status_code");
	const char *desc = str_or_empty(sent_tags, "otel.status_description");
	json_t *error = json_object_get(sent_tags, "error");
	int is_known_code = !strcmp(code, "OK") || !strcmp(code, "ERROR") || !strcmp(code, "UNSET");
	int is_error = !strcmp(code, "ERROR") || error;

	if (is_known_code)
		json_object_del(e, "otel.status_code");
	json_object_del(e, "otel.status_description");
	json_object_del(e, "peer.service");
	if (is_error) {
		const char *msg = *desc ? desc : error ? json_string_value(error) : "";
		json_object_set_new(e, "otel.status_code", json_string("ERROR"));
		json_object_set_new(e, "error", json_string(msg));
	} else if (!strcmp(code, "OK")) {
		json_object_set_new(e, "otel.status_code", json_string("OK"));
	}
	static const char *const parts[] = { "name", "version" };
	for (int k = 0; k < 2; k++) {
		char scope_key[32], lib_key[32];
		snprintf(scope_key, sizeof(scope_key), "otel.scope.%s", parts[k]);
		snprintf(lib_key, sizeof(lib_key), "otel.library.%s", parts[k]);
		const char *scope = str_or_empty(sent_tags, scope_key);
		const char *lib = json_string_value(json_object_get(sent_tags, lib_key));
		if (lib && (!*scope || !strcmp(scope, lib)))
			json_object_del(e, lib_key);
		json_object_del(e, scope_key);
		set_if(e, scope_key, *scope ? scope : lib);
	}
	return e;
}

static json_t *expected_local(json_t *sent)
{
	json_t *e = json_object();
	set_if(e, "serviceName", str_or_empty(sent, "serviceName"));
	set_if(e, "ipv4", str_or_empty(sent, "ipv4"));
	set_if(e, "ipv6", str_or_empty(sent, "ipv6"));
	return e;   /* the port is not kept (no resource convention names it) */
}

static json_t *expected_remote(json_t *sent_span)
{
	json_t *sent = json_object_get(sent_span, "remoteEndpoint");
	json_t *tags = json_object_get(sent_span, "tags");
	const char *kind = str_or_empty(sent_span, "kind");
	const char *ipv4 = str_or_empty(sent, "ipv4"), *ipv6 = str_or_empty(sent, "ipv6");
	const char *service = str_or_empty(tags, "peer.service");
	json_t *e = json_object();

	if (!*service)
		service = str_or_empty(sent, "serviceName");
	/* an OpenTelemetry client names its callee in server.address */
	if (!*service && (!strcmp(kind, "CLIENT") || !strcmp(kind, "PRODUCER")))
		service = str_or_empty(tags, "server.address");
	set_if(e, "serviceName", service);
	set_if(e, "ipv4", ipv4);
	if (!*ipv4)
		set_if(e, "ipv6", ipv6);
	if (json_integer_value(json_object_get(sent, "port")) > 0)
		json_object_set(e, "port", json_object_get(sent, "port"));
	return e;
}

static void check_optional(json_t *got_span, const char *key, json_t *want, const char *file,
			   size_t i)
{
	json_t *got = json_object_get(got_span, key);
	if (!json_object_size(want) && !json_array_size(want))
		CHECK(got == NULL);
	else
		check_equal(got, want, file, i, key);
	json_decref(want);
}

static void check_ids(json_t *got, json_t *sent, const char *file, size_t i)
{
	char want[33];
	const char *parent = str_or_empty(sent, "parentId");

	norm_id(str_or_empty(sent, "traceId"), want, 1);
	CHECK_STR_EQ(jstr(got, "traceId"), want);
	norm_id(str_or_empty(sent, "id"), want, 0);
	CHECK_STR_EQ(jstr(got, "id"), want);
	if (is_zero_id(parent)) {
		CHECK(jpath(got, "parentId") == NULL);
	} else {
		norm_id(parent, want, 0);
		CHECK_STR_EQ(jstr(got, "parentId"), want);
	}
	(void)file, (void)i;
}

static void check_round_trip_span(json_t *got, json_t *sent, const char *file, size_t i)
{
	const char *kind = str_or_empty(sent, "kind");
	json_t *annotations = json_array(), *a;
	size_t k;

	check_ids(got, sent, file, i);
	CHECK_STR_EQ(str_or_empty(got, "kind"), kind);
	CHECK_STR_EQ(str_or_empty(got, "name"), str_or_empty(sent, "name"));
	CHECK_INT_EQ(usec(json_object_get(got, "timestamp")), usec(json_object_get(sent, "timestamp")));
	CHECK_INT_EQ(usec(json_object_get(got, "duration")), usec(json_object_get(sent, "duration")));
	CHECK_INT_EQ(json_is_true(json_object_get(got, "shared")),
		     json_is_true(json_object_get(sent, "shared")) && strcmp(kind, "CLIENT"));
	CHECK(json_object_get(got, "debug") == NULL);
	json_array_foreach(json_object_get(sent, "annotations"), k, a)
		json_array_append_new(annotations, json_pack("{s:I,s:O}", "timestamp",
			usec(json_object_get(a, "timestamp")), "value", json_object_get(a, "value")));
	check_optional(got, "annotations", annotations, file, i);
	check_optional(got, "localEndpoint",
		       expected_local(json_object_get(sent, "localEndpoint")), file, i);
	check_optional(got, "remoteEndpoint", expected_remote(sent), file, i);
	check_optional(got, "tags", expected_tags(json_object_get(sent, "tags")), file, i);
}

static void round_trip(const char *file, size_t want_spans)
{
	size_t len;
	char *body = read_file(file, &len);
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	struct tm_trace t;
	struct tm_buf out;
	json_error_t jerr;

	if (!body)
		return;
	tm_arena_init(&arena, 0);
	tm_buf_init(&out);
	CHECK_INT_EQ(tm_ingest_zipkin_v2_json(body, len, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, want_spans);
	CHECK_INT_EQ(batch_spans(&batch, &arena, &t), 0);
	tm_zipkin_json_write_spans(&out, &t);
	json_t *got = parse(&out), *sent = json_loadb(body, len, 0, &jerr);
	CHECK(json_array_size(got) == want_spans && json_array_size(sent) == want_spans);
	for (size_t i = 0; i < json_array_size(got) && i < json_array_size(sent); i++)
		check_round_trip_span(json_array_get(got, i), json_array_get(sent, i), file, i);
	json_decref(got);
	json_decref(sent);
	tm_buf_free(&out);
	tm_arena_clear(&arena);
	free(body);
}

static void test_round_trips(void)
{
	round_trip("v2_shared_64bit.json", 6);
	round_trip("v2_zero_values.json", 2);
	round_trip("zipkinjs_v2.json", 7);
	round_trip("otel_exporter.json", 8);
}

/* argv[1], else tests/data/zipkin beside this file */
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
	test_fixture_spans();
	test_traces();
	test_golden_bytes();
	test_foreach_tag();
	test_remote_service();
	test_random_bytes();
	test_round_trips();
	return TEST_DONE();
}
