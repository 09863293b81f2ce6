/* test_ingest_xray.c - X-Ray daemon datagrams into batches.
 *
 * (a) golden files: DIR/NAME.datagram decoded and compared, rendered as
 *     OTLP/JSON, with DIR/NAME.golden.json (TM_UPDATE_GOLDEN=1 rewrites
 *     them), among them the datagrams captured from aws-xray-sdk-core by
 *     tests/clients/capture_xray.mjs;
 * (b) the fields a golden file makes easy to overlook, checked one by one
 *     on the records: trace ID bytes, times rounded to the µs, parentage,
 *     kinds, the X-Ray trace ID kept as sent;
 * (c) refusals with -EBADMSG and a message: no header, another header,
 *     malformed JSON, trace IDs of the wrong form, 70 KB, nesting 100 deep;
 * (d) the arena's limit: -E2BIG.
 * DIR is argv[1], else tests/data/xray next to this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchdump.h"
#include "ingest_xray.h"
#include "testutil.h"

#define HEADER "{\"format\":\"json\",\"version\":1}\n"
#define TRACE "1-6955b900-5759e988bd862e3fe1be46a9"
#define SEG(extra) HEADER "{\"name\":\"svc\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE \
	"\",\"start_time\":1767225600.5,\"end_time\":1767225601" extra "}"

static char data_dir[512];

/*---- helpers ----*/

static char *read_file(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		return NULL;
	}
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	*len = buf ? fread(buf, 1, cap, f) : 0;
	fclose(f);
	return buf;
}

/* the decoder with the UDP listener's arena limit */
static int decode(const void *data, size_t len, struct tm_arena *arena, struct tm_batch *batch,
		  struct tm_ingest_report *rep)
{
	tm_arena_init(arena, 16 * len + (1u << 20));
	return tm_ingest_xray_datagram(data, len, arena, batch, rep);
}

/* span i of the batch, decoded from its record */
static struct tm_span span_at(const struct tm_batch *b, size_t i, struct tm_arena *arena)
{
	struct tm_span s;
	memset(&s, 0, sizeof(s));
	CHECK(i < b->n_spans);
	if (i >= b->n_spans)
		return s;
	memcpy(s.trace_id, b->spans[i].trace_id, TM_TRACE_ID_LEN);
	CHECK_INT_EQ(tm_span_decode(b->spans[i].rec, b->spans[i].rec_len, arena, &s), 0);
	return s;
}

static char *str_dup(const struct tm_str *s)
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
		if (a->items[i].key.len == strlen(key) && !memcmp(a->items[i].key.ptr, key,
								    a->items[i].key.len))
			return &a->items[i];
	return NULL;
}

static char *hex(const uint8_t *id, size_t len)
{
	static char buf[4][33];
	static int next;
	char *out = buf[next++ % 4];
	tm_id_to_hex(id, len, out);
	return out;
}

/*---- (a) golden files ----*/

static void golden(const char *name, int want_rc, size_t accepted, size_t rejected,
		   size_t spans)
{
	char in[128], out[1024];
	snprintf(in, sizeof(in), "%s.datagram", name);
	snprintf(out, sizeof(out), "%s/%s.golden.json", data_dir, name);
	size_t len;
	char *data = read_file(in, &len);
	CHECK(data != NULL);
	if (!data)
		return;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = decode(data, len, &arena, &batch, &rep);
	if (rc != want_rc)
		fprintf(stderr, "%s: rc %d, message \"%s\"\n", name, rc, rep.message);
	CHECK_INT_EQ(rc, want_rc);
	CHECK_INT_EQ(rep.accepted, accepted);
	CHECK_INT_EQ(rep.rejected, rejected);
	CHECK_INT_EQ(batch.n_spans, spans);
	if (!batch_matches_golden(&batch, out)) {
		fprintf(stderr, "golden file %s does not match\n", out);
		CHECK(0);
	}
	tm_arena_clear(&arena);
	free(data);
}

/*---- (b) field by field ----*/

static void nested_segment_fields(void)
{
	size_t len;
	char *data = read_file("segment_nested.datagram", &len);
	CHECK(data != NULL);
	if (!data)
		return;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(data, len, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 5);
	CHECK_INT_EQ(batch.n_resources, 1);
	CHECK_STR_EQ(str_dup(&batch.services[0]), "frontend");
	struct tm_span seg = span_at(&batch, 0, &arena), backend = span_at(&batch, 1, &arena);
	struct tm_span decode_stock = span_at(&batch, 2, &arena), dynamo = span_at(&batch, 3, &arena);
	struct tm_span sql = span_at(&batch, 4, &arena);
	/* 1-6955b900-5759e988bd862e3fe1be46a9: time, then the random part */
	CHECK_STR_EQ(hex(seg.trace_id, 16), "6955b9005759e988bd862e3fe1be46a9");
	CHECK_STR_EQ(hex(sql.trace_id, 16), "6955b9005759e988bd862e3fe1be46a9");
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&seg.attrs, "aws.xray.trace_id")), TRACE);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&dynamo.attrs, "aws.xray.trace_id")), TRACE);
	CHECK_STR_EQ(hex(seg.span_id, 8), "70de5b6f19ff9a0a");
	CHECK(!seg.has_parent);
	CHECK(batch.spans[0].is_root);
	CHECK_STR_EQ(hex(backend.parent_span_id, 8), "70de5b6f19ff9a0a");
	CHECK_STR_EQ(hex(decode_stock.parent_span_id, 8), "9f1c2d3e4a5b6c7d");
	CHECK_STR_EQ(hex(sql.parent_span_id, 8), "70de5b6f19ff9a0a");
	/* 1767225600.123456 and .2501 s, to the µs */
	CHECK_INT_EQ(seg.start_ns, 1767225600123456000ull);
	CHECK_INT_EQ(seg.end_ns, 1767225600250100000ull);
	CHECK_INT_EQ(sql.end_ns, 1767225600240500000ull);
	CHECK_STR_EQ(str_dup(&seg.name), "GET /orders/42");
	CHECK_STR_EQ(str_dup(&backend.name), "backend");
	CHECK_INT_EQ(seg.kind, TM_KIND_SERVER);
	CHECK_INT_EQ(backend.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(decode_stock.kind, TM_KIND_INTERNAL);
	CHECK_INT_EQ(dynamo.kind, TM_KIND_CLIENT);
	CHECK_INT_EQ(sql.kind, TM_KIND_CLIENT);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&backend.attrs, "peer.service")), "backend");
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&dynamo.attrs, "rpc.system")), "aws-api");
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&dynamo.attrs, "rpc.method")), "GetItem");
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&sql.attrs, "db.system")), "postgresql");
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&sql.attrs, "server.address")), "db.example.com");
	const struct tm_attr *status = attr(&seg.attrs, "http.response.status_code");
	CHECK(status && status->value.type == TM_VAL_INT && status->value.u.integer == 200);
	const struct tm_attr *size = attr(&backend.attrs, "http.response.body.size");
	CHECK(size && size->value.type == TM_VAL_INT && size->value.u.integer == 87);
	tm_arena_clear(&arena);
	free(data);
}

static void errors_fields(void)
{
	size_t len;
	char *data = read_file("errors.datagram", &len);
	CHECK(data != NULL);
	if (!data)
		return;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(data, len, &arena, &batch, &rep), 0);
	struct tm_span seg = span_at(&batch, 0, &arena), db = span_at(&batch, 1, &arena);
	struct tm_span handler = span_at(&batch, 2, &arena);
	CHECK(seg.has_parent);
	CHECK_STR_EQ(hex(seg.parent_span_id, 8), "9f1c2d3e4a5b6c7d");
	CHECK_INT_EQ(seg.status_code, TM_STATUS_ERROR);   /* error: true, a 4xx */
	CHECK_STR_EQ(str_dup(&seg.status_message), "too many requests for key 42");
	CHECK(batch.spans[0].is_error);
	const struct tm_attr *a = attr(&seg.attrs, "aws.xray.throttle");
	CHECK(a && a->value.type == TM_VAL_BOOL && a->value.u.boolean);
	a = attr(&seg.attrs, "aws.xray.fault");
	CHECK(a && a->value.type == TM_VAL_BOOL && !a->value.u.boolean);
	CHECK_INT_EQ(seg.n_events, 1);
	if (seg.n_events == 1) {
		CHECK_STR_EQ(str_dup(&seg.events[0].name), "exception");
		CHECK_INT_EQ(seg.events[0].time_ns, seg.end_ns);
		CHECK_STR_EQ(str_dup(tm_attrs_get_str(&seg.events[0].attrs, "exception.type")),
			     "RateLimitError");
		CHECK(strstr(str_dup(tm_attrs_get_str(&seg.events[0].attrs, "exception.stacktrace")),
			     "\tat checkLimit(/srv/backend/limits.js: 17)\n") != NULL);
	}
	CHECK_INT_EQ(db.status_code, TM_STATUS_ERROR);
	CHECK_INT_EQ(db.n_events, 2);
	/* a cause that only names an exception of another subsegment */
	CHECK_INT_EQ(handler.status_code, TM_STATUS_ERROR);
	CHECK_INT_EQ(handler.n_events, 0);
	CHECK_INT_EQ(handler.status_message.len, 0);
	tm_arena_clear(&arena);
	free(data);
}

static void one_span(const char *datagram, struct tm_arena *arena, struct tm_span *out)
{
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = decode(datagram, strlen(datagram), arena, &batch, &rep);
	if (rc)
		fprintf(stderr, "rc %d: %s\n", rc, rep.message);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(batch.n_spans, 1);
	*out = span_at(&batch, 0, arena);
}

static void times_and_names(void)
{
	struct tm_arena arena;
	struct tm_span s;
	/* 7 decimals: the 7th rounds the µs up; integer seconds are numbers too */
	one_span(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		 "\",\"start_time\":1767225600.1234567,\"end_time\":1767225601}", &arena, &s);
	CHECK_INT_EQ(s.start_ns, 1767225600123457000ull);
	CHECK_INT_EQ(s.end_ns, 1767225601000000000ull);
	tm_arena_clear(&arena);
	/* exponent notation, as the daemon documentation allows */
	one_span(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		 "\",\"start_time\":1.480615200010E9,\"end_time\":1.4806152001E9}", &arena, &s);
	CHECK_INT_EQ(s.start_ns, 1480615200010000000ull);
	CHECK_INT_EQ(s.end_ns, 1480615200100000000ull);
	tm_arena_clear(&arena);
	/* a method without a URL path; a URL without a path */
	one_span(SEG(",\"http\":{\"request\":{\"method\":\"POST\"}}"), &arena, &s);
	CHECK_STR_EQ(str_dup(&s.name), "POST");
	tm_arena_clear(&arena);
	one_span(SEG(",\"http\":{\"request\":{\"method\":\"GET\",\"url\":\"http://h:81\"}}"),
		 &arena, &s);
	CHECK_STR_EQ(str_dup(&s.name), "GET");
	CHECK(attr(&s.attrs, "server.address") == NULL);   /* a server span: no peer */
	tm_arena_clear(&arena);
	/* an independent subsegment is no service: its resource names none */
	struct tm_batch batch;
	struct tm_ingest_report rep;
	const char *sub = HEADER "{\"type\":\"subsegment\",\"parent_id\":\"70de5b6f19ff9a0a\","
			  "\"name\":\"s3\",\"id\":\"1111111111111111\",\"trace_id\":\"" TRACE
			  "\",\"start_time\":1,\"end_time\":2,\"namespace\":\"aws\"}";
	CHECK_INT_EQ(decode(sub, strlen(sub), &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_resources, 1);
	CHECK_INT_EQ(batch.services[0].len, 0);
	s = span_at(&batch, 0, &arena);
	CHECK(s.has_parent);
	CHECK_INT_EQ(s.kind, TM_KIND_CLIENT);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&s.attrs, "rpc.service")), "s3");
	tm_arena_clear(&arena);
}

/* where the database is, from the url forms the SDKs send */
static void sql_url(const char *url_member, const char *host, int64_t port, const char *db)
{
	char datagram[512];
	struct tm_arena arena;
	struct tm_span s;
	snprintf(datagram, sizeof(datagram), SEG(",\"subsegments\":[{\"name\":\"db\","
		 "\"id\":\"1111111111111111\",\"start_time\":1,\"end_time\":2,"
		 "\"namespace\":\"remote\",\"sql\":{%s}}]"), url_member);
	struct tm_batch batch;
	struct tm_ingest_report rep;
	CHECK_INT_EQ(decode(datagram, strlen(datagram), &arena, &batch, &rep), 0);
	s = span_at(&batch, 1, &arena);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&s.attrs, "server.address")), host);
	const struct tm_attr *p = attr(&s.attrs, "server.port");
	CHECK_INT_EQ(p ? p->value.u.integer : -1, port);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&s.attrs, "db.namespace")), db);
	tm_arena_clear(&arena);
}

static void sql_urls(void)
{
	sql_url("\"url\":\"db.test:5432/orders\"", "db.test", 5432, "orders");
	sql_url("\"url\":\"jdbc:mysql://app:pw@10.0.0.7:3306/shop?ssl=true\"", "10.0.0.7", 3306,
		"shop");
	sql_url("\"url\":\"postgresql://[::1]:5432/x\"", "::1", 5432, "x");
	sql_url("\"url\":\"postgresql://db.test\"", "db.test", -1, "(null)");
	sql_url("\"connection_string\":\"Server=db;Database=shop\"", "(null)", -1, "(null)");
}

/* integers past int64 are valid JSON; the document is read with doubles */
static void big_integers(void)
{
	struct tm_arena arena;
	struct tm_span s;
	one_span(SEG(",\"annotations\":{\"n\":3},\"metadata\":{\"default\":"
		     "{\"huge\":18446744073709552000}}"), &arena, &s);
	const struct tm_attr *n = attr(&s.attrs, "aws.xray.annotations.n");
	CHECK(n && n->value.type == TM_VAL_DOUBLE && n->value.u.dbl == 3.0);
	CHECK_STR_EQ(str_dup(tm_attrs_get_str(&s.attrs, "aws.xray.metadata.default")),
		     "{\"huge\":1.8446744073709552e+19}");
	tm_arena_clear(&arena);
}

/*---- (c) refusals ----*/

static void expect_bad_len(const char *what, const char *data, size_t len, const char *part)
{
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	int rc = decode(data, len, &arena, &batch, &rep);
	if (rc != -EBADMSG || !strstr(rep.message, part)) {
		fprintf(stderr, "%s: rc %d, message \"%s\", wanted -EBADMSG and \"%s\"\n", what, rc,
			rep.message, part);
		CHECK(0);
	}
	CHECK_INT_EQ(rep.accepted, 0);
	tm_arena_clear(&arena);
}

static void expect_bad(const char *data, const char *part)
{
	expect_bad_len(data, data, strlen(data), part);
}

#define NO_HEADER "missing X-Ray daemon header"
#define BAD_TRACE "trace_id must be of the form 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"
#define WITH_TRACE(t) HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":" t \
	",\"start_time\":1,\"end_time\":2}"

static void bad_headers(void)
{
	const char *seg = SEG("");
	expect_bad_len("empty", "", 0, NO_HEADER);
	expect_bad(seg + strlen(HEADER), NO_HEADER);   /* the document alone */
	expect_bad("{\"format\":\"xml\",\"version\":1}\n{}", NO_HEADER);
	expect_bad("{\"format\":\"json\",\"version\":2}\n{}", NO_HEADER);
	expect_bad("{\"format\":\"json\"}\n{}", NO_HEADER);
	expect_bad("{\"format\":\"json\",\"version\":\"1\"}\n{}", NO_HEADER);
	expect_bad("format=json\n{}", "the first line is not JSON");
	expect_bad("\n{\"format\":\"json\",\"version\":1}\n{}", NO_HEADER);
	expect_bad(HEADER, "no segment document after");
	expect_bad(HEADER " \r\n ", "no segment document after");
}

static void bad_documents(void)
{
	expect_bad(HEADER "{\"name\":\"a\",", "not valid JSON");
	expect_bad(HEADER "{\"name\":\"a\"} trailing", "not valid JSON");
	expect_bad(HEADER "{\"name\":\"\xff\"}", "not valid JSON");
	expect_bad(HEADER "[1,2]", "must be a JSON object");
	expect_bad(HEADER "\"segment\"", "not valid JSON");
	expect_bad(WITH_TRACE("\"1-5759e988-bd862e3fe1be46a99427279\""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"2-5759e988-bd862e3fe1be46a994272793\""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"1-5759e98g-bd862e3fe1be46a994272793\""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"1_5759e988_bd862e3fe1be46a994272793\""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"5759e988bd862e3fe1be46a994272793\""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"1-5759e988-bd862e3fe1be46a994272793 \""), BAD_TRACE);
	expect_bad(WITH_TRACE("\"1-00000000-000000000000000000000000\""), BAD_TRACE);
	expect_bad(WITH_TRACE("12345"), BAD_TRACE);
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"start_time\":1,"
		   "\"end_time\":2}", BAD_TRACE);
	expect_bad(SEG(",\"type\":\"segment\""), "type must be \"subsegment\" or absent");
	expect_bad(SEG(",\"type\":\"subsegment\""), "independent subsegment needs a parent_id");
	expect_bad(SEG(",\"parent_id\":\"abc\""), "parent_id must be 16 hex digits");
	expect_bad(SEG(",\"parent_id\":\"0000000000000000\""), "parent_id must be 16 hex digits");
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":1,\"end_time\":2}", "segment: id must be 16 hex digits");
	expect_bad(HEADER "{\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":1,\"end_time\":2}", "segment: name must be a non-empty string");
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":\"1\",\"end_time\":2}", "start_time must be epoch seconds");
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":-1,\"end_time\":2}", "start_time must be epoch seconds");
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":1}", "end_time must be epoch seconds");
	expect_bad(HEADER "{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TRACE
		   "\",\"start_time\":1,\"end_time\":1e300}", "end_time must be epoch seconds");
	expect_bad(SEG(",\"subsegments\":{}"), "subsegments must be an array");
	expect_bad(HEADER "{\"type\":\"subsegment\",\"parent_id\":\"70de5b6f19ff9a0a\",\"id\":\"x\","
		   "\"trace_id\":\"" TRACE "\"}", "subsegment: id must be 16 hex digits");
}

/* a document of n bytes: the segment, then spaces inside the object */
static char *padded_datagram(size_t n)
{
	const char *seg = SEG("");
	size_t len = strlen(seg);
	char *d = malloc(n + 1);
	if (!d || n < len)
		exit(99);
	memcpy(d, seg, len - 1);
	memset(d + len - 1, ' ', n - len);
	d[n - 1] = '}';
	d[n] = '\0';
	return d;
}

static char *nested_datagram(int depth)
{
	size_t cap = 200 + (size_t)depth * 200;
	char *d = malloc(cap);
	if (!d)
		exit(99);
	size_t n = (size_t)snprintf(d, cap, "%s", SEG(""));
	n--;   /* reopen the segment object */
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(d + n, cap - n, ",\"subsegments\":[{\"name\":\"l%d\","
				      "\"id\":\"%016x\",\"start_time\":1,\"end_time\":2", i, i + 1);
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(d + n, cap - n, "}]");
	snprintf(d + n, cap - n, "}");
	return d;
}

static void sizes_and_depths(void)
{
	/* 64 KiB is taken, one byte more is not, 70 KB neither */
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	char *d = padded_datagram(64 << 10);
	CHECK_INT_EQ(decode(d, 64 << 10, &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 1);
	tm_arena_clear(&arena);
	free(d);
	d = padded_datagram((64 << 10) + 1);
	expect_bad_len("64 KiB + 1", d, (64 << 10) + 1, "over the 64 KiB");
	free(d);
	d = padded_datagram(70000);
	expect_bad_len("70 KB", d, 70000, "datagram of 70000 bytes is over the 64 KiB");
	free(d);

	/* subsegments 32 levels below the segment are taken; 33 and 100 are not */
	d = nested_datagram(32);
	CHECK_INT_EQ(decode(d, strlen(d), &arena, &batch, &rep), 0);
	CHECK_INT_EQ(batch.n_spans, 33);
	struct tm_span deepest = span_at(&batch, 32, &arena);
	CHECK_STR_EQ(hex(deepest.parent_span_id, 8), "000000000000001f");
	tm_arena_clear(&arena);
	free(d);
	d = nested_datagram(33);
	expect_bad_len("33 deep", d, strlen(d), "nested deeper than 32 levels");
	free(d);
	d = nested_datagram(100);
	expect_bad_len("100 deep", d, strlen(d), "nested deeper than 32 levels");
	free(d);

	/* JSON nested past what the parser takes, inside metadata */
	size_t n = 5000, len = 0;
	d = malloc(2 * n + 512);
	if (!d)
		exit(99);
	len = (size_t)sprintf(d, "%s", SEG(",\"metadata\":{\"default\":"));
	len--;
	memset(d + len, '[', n);
	memset(d + len + n, ']', n);
	len += 2 * n;
	len += (size_t)sprintf(d + len, "}}");
	expect_bad_len("5000 [", d, len, "not valid JSON");
	free(d);
}

/*---- (d) the arena's limit ----*/

static void arena_limit(void)
{
	size_t len;
	char *data = read_file("segment_nested.datagram", &len);
	CHECK(data != NULL);
	if (!data)
		return;
	struct tm_arena arena;
	struct tm_batch batch;
	struct tm_ingest_report rep;
	tm_arena_init(&arena, 2048);
	CHECK_INT_EQ(tm_ingest_xray_datagram(data, len, &arena, &batch, &rep), -E2BIG);
	CHECK(strstr(rep.message, "needs more than 2048 bytes") != NULL);
	tm_arena_clear(&arena);
	free(data);
}

/* argv[1], else tests/data/xray beside this file (meson runs tests in the
 * build directory and compiles with a relative path to the source) */
static void find_data_dir(int argc, char **argv)
{
	if (argc > 1) {
		snprintf(data_dir, sizeof(data_dir), "%s", argv[1]);
		return;
	}
	const char *file = __FILE__, *slash = strrchr(file, '/');
	snprintf(data_dir, sizeof(data_dir), "%.*s%s../data/xray", slash ? (int)(slash - file) : 0,
		 file, slash ? "/" : "");
}

int main(int argc, char **argv)
{
	find_data_dir(argc, argv);
	golden("segment_nested", 0, 5, 0, 5);
	golden("independent_subsegment", 0, 2, 0, 2);
	golden("errors", 0, 3, 0, 3);
	golden("annotations_metadata", 0, 1, 0, 1);
	golden("in_progress", 0, 1, 0, 0);
	golden("nested_in_progress", 0, 3, 0, 2);
	golden("partial_reject", 0, 3, 3, 3);
	golden("spaced_header", 0, 1, 0, 1);
	golden("sdk_frontend", 0, 4, 0, 4);
	golden("sdk_backend", 0, 3, 0, 3);
	nested_segment_fields();
	errors_fields();
	times_and_names();
	big_integers();
	sql_urls();
	bad_headers();
	bad_documents();
	sizes_and_depths();
	arena_limit();
	return TEST_DONE();
}
