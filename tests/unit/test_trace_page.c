/* test_trace_page.c - the trace page (web/page_trace.c) drawn from a real
 * store: hostile names stay text, the critical path and errors are marked
 * on the right rows, the ?span= page, the exported variant, and the time
 * and size of a 10,000-span trace (printed; only the size is checked).
 *
 * TRACE_PAGE_OUT=dir keeps the pages drawn as files there, for a look in
 * a browser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "store.h"
#include "testutil.h"
#include "web.h"

#define MS 1000000ull
#define T0 1700000000000000000ull   /* 2023-11-14 22:13:20 UTC */
#define BIG_SPANS 10000
#define SPANS_PER_COMMIT 1000

static char dir[64];

#define S(lit) ((struct tm_str){ (lit), sizeof(lit) - 1 })

static const char XSS_SCRIPT[] = "<script>alert(1)</script>";
static const char XSS_IMG[] = "\"><img src=x onerror=alert(1)>";

/*---- writing spans ----*/

/* ids start at 1; parent 0 means a root */
struct span_spec {
	unsigned id, parent;
	uint64_t start_ns, end_ns;
	const char *service, *name;
	int is_error;
	const char *message;
};

static void put_id(uint8_t out[TM_SPAN_ID_LEN], unsigned id)
{
	memset(out, 0, TM_SPAN_ID_LEN);
	for (int i = 7; i >= 4; i--, id >>= 8)
		out[i] = (uint8_t)id;
}

static void trace_id_of(uint8_t out[TM_TRACE_ID_LEN], unsigned n)
{
	memset(out, 0, TM_TRACE_ID_LEN);
	out[0] = 0x7a;
	out[15] = (uint8_t)n;
}

/* a batch whose spans get one resource per service name */
struct writer {
	struct tm_arena arena;
	struct tm_batch batch;
	const char *services[64];
	uint32_t res[64];
	size_t n_services;
	uint32_t scope;
};

static void writer_begin(struct writer *w)
{
	memset(w, 0, sizeof(*w));
	tm_arena_init(&w->arena, 0);
	tm_batch_init(&w->batch, &w->arena);
	struct tm_scope scope = { S("test<lib>"), S("1.0"), { NULL, 0, 0 }, S("") };
	CHECK_INT_EQ(tm_batch_add_scope(&w->batch, &scope, &w->scope), 0);
}

static uint32_t writer_resource(struct writer *w, const char *service)
{
	for (size_t i = 0; i < w->n_services; i++)
		if (!strcmp(w->services[i], service))
			return w->res[i];
	struct tm_attr attrs[2] = {
		{ S("service.name"), { .type = TM_VAL_STRING, .u.str = tm_str_from(service) } },
		{ S("host.name"), { .type = TM_VAL_STRING, .u.str = S("node-1 & <2>") } },
	};
	struct tm_resource res = { { attrs, 2, 0 }, S("") };
	uint32_t index = 0;
	CHECK_INT_EQ(tm_batch_add_resource(&w->batch, &res, &index), 0);
	if (w->n_services < 64) {
		w->services[w->n_services] = service;
		w->res[w->n_services++] = index;
	}
	return index;
}

static void writer_add(struct writer *w, unsigned trace, const struct span_spec *spec,
		       const struct tm_span *extra)
{
	struct tm_span s;
	if (extra)
		s = *extra;
	else
		memset(&s, 0, sizeof(s));
	trace_id_of(s.trace_id, trace);
	put_id(s.span_id, spec->id);
	s.has_parent = spec->parent != 0;
	if (s.has_parent)
		put_id(s.parent_span_id, spec->parent);
	s.name = tm_str_from(spec->name);
	s.kind = TM_KIND_SERVER;
	s.start_ns = T0 + spec->start_ns;
	s.end_ns = T0 + spec->end_ns;
	s.status_code = spec->is_error ? TM_STATUS_ERROR : TM_STATUS_OK;
	s.status_message = tm_str_from(spec->message);
	CHECK_INT_EQ(tm_batch_add_span(&w->batch, &s, writer_resource(w, spec->service), w->scope),
		     0);
}

static void writer_commit(struct writer *w, struct tm_store *st)
{
	tm_batch_done(&w->batch);
	struct tm_batch *one = &w->batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&w->arena);
}

/*---- the pages ----*/

/* one rendering: the page as a NUL-terminated string */
struct page {
	struct tm_buf buf;
	int rc;
	double ms;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void save(const struct page *p, const char *name)
{
	const char *out_dir = getenv("TRACE_PAGE_OUT");
	if (!out_dir || p->rc)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.html", out_dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p->buf.data, 1, p->buf.len, f);
		fclose(f);
	}
}

/* span: NULL for the plain page, else the ?span= page */
static struct page render(struct tm_store *st, unsigned trace, const unsigned *span,
			  int static_site)
{
	struct page p = { .rc = 0 };
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_web_ctx c = { .arena = &arena, .static_site = static_site };
	CHECK_INT_EQ(tm_store_reader_begin(st, &c.rd), 0);
	uint8_t trace_id[TM_TRACE_ID_LEN], span_id[TM_SPAN_ID_LEN];
	trace_id_of(trace_id, trace);
	tm_buf_init(&p.buf);
	double t = now_ms();
	if (span) {
		put_id(span_id, *span);
		p.rc = tm_web_trace_span_page(&p.buf, &c, trace_id, span_id);
	} else {
		p.rc = tm_web_trace_page(&p.buf, &c, trace_id);
	}
	p.ms = now_ms() - t;
	tm_store_reader_end(c.rd);
	tm_arena_clear(&arena);
	tm_buf_add(&p.buf, "", 1);
	CHECK(!p.buf.failed);
	p.buf.len--;
	return p;
}

static const char *html(const struct page *p)
{
	return (const char *)p->buf.data;
}

/* not strstr from each match: ASan's strstr re-reads the rest of the
 * page on every call, which made this quadratic on the 10,000-span page */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);
	for (const char *at = hay; *at; at++)
		n += *at == needle[0] && strncmp(at, needle, len) == 0;
	return n;
}

/* every element the page opens it closes: a cheap check of its nesting */
static void check_balanced(const char *h)
{
	static const char *const tags[] = { "div", "details", "summary", "table", "tr",
					    "dl", "section", "span", "a", "p", "h2", "button" };
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char open_sp[32], open_gt[32], close[32];
		snprintf(open_sp, sizeof(open_sp), "<%s ", tags[i]);
		snprintf(open_gt, sizeof(open_gt), "<%s>", tags[i]);
		snprintf(close, sizeof(close), "</%s>", tags[i]);
		size_t opened = count(h, open_sp) + count(h, open_gt), closed = count(h, close);
		if (opened != closed)
			fprintf(stderr, "<%s>: %zu opened, %zu closed\n", tags[i], opened, closed);
		CHECK_INT_EQ(opened, closed);
	}
}

/* the row of span id: from its anchor to the next row */
static char *row_of(const char *h, unsigned id)
{
	uint8_t span_id[TM_SPAN_ID_LEN];
	char hex[2 * TM_SPAN_ID_LEN + 1], anchor[40];
	put_id(span_id, id);
	tm_id_to_hex(span_id, TM_SPAN_ID_LEN, hex);
	snprintf(anchor, sizeof(anchor), "id=\"s%s\"", hex);
	const char *at = strstr(h, anchor);
	CHECK(at != NULL);
	if (!at)
		return strdup("");
	const char *start = at;
	while (start > h && strncmp(start, "<div class=\"r", 13))
		start--;
	const char *end = strstr(at, "<div class=\"r");
	if (!end)
		end = strstr(at, "<script>");
	if (!end)
		end = at + strlen(at);
	return strndup(start, (size_t)(end - start));
}

/*---- a small trace with a known critical path ----*/

/* A 0-100 ms; B 10-60 and E 12-15 under A; C 20-90 (error) under A; D
 * 30-80 under C.  Walking back from 100: C takes [20,90] and within it D
 * [30,80]; at 20 B (largest end of those started before 20) takes [10,20];
 * A keeps [0,10] and [90,100].  E never is on the path. */
static const struct span_spec SMALL[] = {
	{ 1, 0, 0, 100 * MS, "frontend", "GET /checkout", 0, NULL },
	{ 2, 1, 10 * MS, 60 * MS, "auth", "check token", 0, NULL },
	{ 5, 1, 12 * MS, 15 * MS, "cache", "cache get", 0, NULL },
	{ 3, 1, 20 * MS, 90 * MS, "db", "query orders", 1, "deadline exceeded" },
	{ 4, 3, 30 * MS, 80 * MS, "db", "read rows", 0, NULL },
};

static void check_small(struct tm_store *st)
{
	struct page p = render(st, 1, NULL, 0);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "small");
	const char *h = html(&p);
	check_balanced(h);
	static const struct { unsigned id; const char *path; } on_path[] = {
		{ 1, "◆<span class=\"vh\"> on critical path 20.00 ms" }, { 2, "◆<span class=\"vh\"> on critical path 10.00 ms" },
		{ 3, "◆<span class=\"vh\"> on critical path 20.00 ms" }, { 4, "◆<span class=\"vh\"> on critical path 50.00 ms" },
	};
	for (size_t i = 0; i < 4; i++) {
		char *row = row_of(h, on_path[i].id);
		CHECK(strstr(row, on_path[i].path) != NULL);
		CHECK(strstr(row, "<div class=\"r cp") || strstr(row, "<div class=\"r e cp"));
		free(row);
	}
	char *row = row_of(h, 5);
	CHECK(strstr(row, "◆ on critical path") == NULL);
	CHECK(strstr(row, "<dt>critical path</dt><dd>not on it</dd>") != NULL);
	CHECK(strstr(row, "class=\"eb\"") == NULL);
	free(row);
	row = row_of(h, 3);   /* the error: class, badge, message */
	CHECK(strstr(row, "<div class=\"r e cp\"") != NULL);
	CHECK(strstr(row, "<span class=\"eb\">error</span>") != NULL);
	CHECK(strstr(row, "deadline exceeded") != NULL);
	free(row);
	row = row_of(h, 4);
	CHECK(strstr(row, "class=\"eb\"") == NULL);
	CHECK(strstr(row, "style=\"--d:2\"") != NULL);   /* under C under A */
	free(row);
	/* head: root, start, duration, counts; details inline, download links */
	CHECK(strstr(h, "<b>frontend</b>: GET /checkout") != NULL);
	CHECK(strstr(h, "2023-11-14 22:13:20.000 UTC") != NULL);
	CHECK(strstr(h, "<dt>duration</dt><dd>100.00 ms</dd>") != NULL);
	CHECK(strstr(h, "<dt>spans</dt><dd>5</dd>") != NULL);
	CHECK(strstr(h, "<dt>errors</dt><dd class=\"err\">1</dd>") != NULL);
	CHECK(strstr(h, "href=\"/api/traces/7a000000000000000000000000000001\"") != NULL);
	CHECK(strstr(h, "href=\"/api/v3/traces/7a000000000000000000000000000001\"") != NULL);
	CHECK(strstr(h, "/api/traces/7a000000000000000000000000000001/critical-path") != NULL);
	CHECK_INT_EQ(count(h, "<details>"), 5);
	CHECK(strstr(h, "?span=") == NULL);
	/* db: self times 20 (C) + 50 (D) ms of 143 in all, and all 70 ms on
	 * the path, which is 70% of the trace's 100 ms */
	const char *db = strstr(h, "href=\"/services/db\">db</a>");
	CHECK(db != NULL);
	if (db) {
		row = strndup(db, (size_t)(strstr(db, "</tr>") - db));
		CHECK(strstr(row, "<td class=\"n\">2</td><td class=\"n err\">1</td><td class=\"n\">"
				  "70.00 ms</td><td class=\"n\">49.0%</td><td class=\"n\">70.00 ms</td>"
				  "<td class=\"n\">70.0%</td>") != NULL);
		free(row);
	}
	free(p.buf.data);
}

/*---- hostile strings ----*/

static struct tm_attr hostile_attrs[6];
static struct tm_value hostile_list[2];
static struct tm_attr hostile_event_attrs[1];
static struct tm_event hostile_events[1];
static struct tm_link hostile_links[2];

static void hostile_span(struct tm_span *s)
{
	memset(s, 0, sizeof(*s));
	hostile_list[0] = (struct tm_value){ .type = TM_VAL_STRING, .u.str = tm_str_from(XSS_IMG) };
	hostile_list[1] = (struct tm_value){ .type = TM_VAL_INT, .u.integer = -7 };
	hostile_attrs[0] = (struct tm_attr){ tm_str_from(XSS_SCRIPT),
		{ .type = TM_VAL_STRING, .u.str = tm_str_from(XSS_IMG) } };
	hostile_attrs[1] = (struct tm_attr){ S("quotes'\"&amp;"),
		{ .type = TM_VAL_STRING, .u.str = S("it's \"quoted\" & <b>bold</b>") } };
	hostile_attrs[2] = (struct tm_attr){ S("unicode"),
		{ .type = TM_VAL_STRING, .u.str = S("naïve ✓ 名前 🚀") } };
	hostile_attrs[3] = (struct tm_attr){ S("list"),
		{ .type = TM_VAL_ARRAY, .u.array = { hostile_list, 2 } } };
	hostile_attrs[4] = (struct tm_attr){ S("raw"),
		{ .type = TM_VAL_BYTES, .u.str = { "<\"'>", 4 } } };
	hostile_attrs[5] = (struct tm_attr){ S("n"), { .type = TM_VAL_DOUBLE, .u.dbl = 2.5 } };
	s->attrs = (struct tm_attrs){ hostile_attrs, 6, 2 };
	hostile_event_attrs[0] = (struct tm_attr){ S("exception.message"),
		{ .type = TM_VAL_STRING, .u.str = tm_str_from(XSS_SCRIPT) } };
	hostile_events[0] = (struct tm_event){ T0 + 3 * MS, tm_str_from(XSS_IMG),
					       { hostile_event_attrs, 1, 0 } };
	s->events = hostile_events;
	s->n_events = 1;
	memset(&hostile_links, 0, sizeof(hostile_links));
	memset(hostile_links[0].trace_id, 0x42, TM_TRACE_ID_LEN);
	put_id(hostile_links[0].span_id, 77);
	hostile_links[0].trace_state = tm_str_from(XSS_IMG);
	trace_id_of(hostile_links[1].trace_id, 2);
	put_id(hostile_links[1].span_id, 1);
	s->links = hostile_links;
	s->n_links = 2;
	s->trace_state = tm_str_from(XSS_SCRIPT);
}

static const struct span_spec HOSTILE[] = {
	{ 1, 0, 0, 40 * MS, XSS_IMG, XSS_SCRIPT, 0, NULL },
	{ 2, 1, 5 * MS, 30 * MS, "a & b 'svc'", "naïve ✓ 名前", 1, XSS_SCRIPT },
	{ 3, 2, 6 * MS, 20 * MS, "unicode ✓", XSS_IMG, 0, NULL },
	/* the server side of a Zipkin shared span: same ID, itself as parent */
	{ 3, 3, 7 * MS, 19 * MS, "a & b 'svc'", "shared", 0, NULL },
};

/* no payload survives as markup: every "<script" is ours, no <img> at all */
static void check_no_payload(const char *h)
{
	CHECK(strstr(h, "<img") == NULL);
	CHECK(strstr(h, "<script>alert") == NULL);
	CHECK(strstr(h, "<b>bold") == NULL);
	for (const char *at = strstr(h, "<script"); at; at = strstr(at + 1, "<script"))
		CHECK(!strncmp(at, "<script>(function", 17) || !strncmp(at, "<script>document.", 17));
	/* as text, or percent-encoded in a link */
	for (const char *at = strstr(h, "onerror"); at; at = strstr(at + 1, "onerror"))
		CHECK((at - h >= 14 && !strncmp(at - 14, "&lt;img src=x ", 14)) ||
		      (at - h >= 10 && !strncmp(at - 10, "src%3Dx%20", 10)));
	CHECK(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
	CHECK(strstr(h, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != NULL);
	check_balanced(h);
}

static void check_hostile(struct tm_store *st)
{
	struct page p = render(st, 2, NULL, 0);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "hostile");
	const char *h = html(&p);
	check_no_payload(h);
	CHECK(strstr(h, "<title>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;: &lt;script&gt;") != NULL);
	CHECK(strstr(h, "naïve ✓ 名前 🚀") != NULL);
	CHECK(strstr(h, "it&#39;s &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;") != NULL);
	CHECK(strstr(h, "quotes&#39;&quot;&amp;amp;") != NULL);
	CHECK(strstr(h, "0x3c22273e") != NULL);
	CHECK(strstr(h, "(2 dropped)") != NULL);
	/* the service's link is percent-encoded */
	CHECK(strstr(h, "href=\"/services/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\"")
	      != NULL);
	/* links: another trace by its page, this trace by the row's anchor */
	CHECK(strstr(h, "href=\"/traces/42424242424242424242424242424242\"") != NULL);
	CHECK(strstr(h, "href=\"#s0000000000000001\"") != NULL);
	/* two rows of one span ID, each with an anchor of its own */
	CHECK_INT_EQ(count(h, "id=\"s0000000000000003\""), 1);
	CHECK_INT_EQ(count(h, "id=\"s0000000000000003-"), 1);
	free(p.buf.data);

	unsigned span = 1;
	p = render(st, 2, &span, 0);
	CHECK_INT_EQ(p.rc, 0);
	check_no_payload(html(&p));
	CHECK(strstr(html(&p), "class=\"selbox\"") != NULL);
	free(p.buf.data);
	p = render(st, 2, NULL, 1);
	CHECK_INT_EQ(p.rc, 0);
	check_no_payload(html(&p));
	free(p.buf.data);
}

/*---- exported pages, errors ----*/

static void check_static_and_errors(struct tm_store *st)
{
	struct page p = render(st, 1, NULL, 1);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "small-static");
	CHECK(strstr(html(&p), "href=\"trace-7a000000000000000000000000000001.json\"") != NULL);
	CHECK(strstr(html(&p), "/api/") == NULL);
	CHECK(strstr(html(&p), "href=\"service-db.html\"") != NULL);
	free(p.buf.data);

	p = render(st, 99, NULL, 0);
	CHECK_INT_EQ(p.rc, -ENOENT);
	free(p.buf.data);
	unsigned missing = 12345;
	p = render(st, 1, &missing, 0);
	CHECK_INT_EQ(p.rc, 0);
	CHECK(strstr(html(&p), "This trace has no span with ID <code>0000000000003039</code>")
	      != NULL);
	free(p.buf.data);
	unsigned d = 4;
	p = render(st, 1, &d, 0);
	CHECK_INT_EQ(p.rc, 0);
	CHECK(strstr(html(&p), "<details open>") != NULL);
	CHECK(strstr(html(&p), "<div class=\"r cp sel\" id=\"s0000000000000004\"") != NULL);
	free(p.buf.data);
}

/*---- 10,000 spans ----*/

static const char *const BIG_SERVICES[] = {
	"frontend", "checkout", "cart", "payment", "shipping", "currency", "email",
	"recommendation", "ad", "catalog", "quote", "fraud-detection", "accounting",
	"inventory", "auth", "search", "pricing", "geo", "notification", "ledger",
};

/* span i of a big trace of n: a ternary tree, then a chain of 600 under
 * the last span so that some rows are deeper than the page indents */
static void big_spec(unsigned i, unsigned n, struct span_spec *spec, char *name,
		     size_t name_size)
{
	unsigned chain_from = n - 600;
	unsigned id = i + 1;
	unsigned parent = i == 0 ? 0 : i < chain_from ? (i - 1) / 3 + 1 : i;
	/* every span lies inside its parent: depth d gets [d, 10 s - d] ms-ish */
	unsigned depth = 0;
	for (unsigned k = i; k > 0 && k < chain_from; k = (k - 1) / 3)
		depth++;
	if (i >= chain_from)
		depth = 10 + (i - chain_from);
	uint64_t start = (uint64_t)depth * MS + (i % 3) * 100000u;
	snprintf(name, name_size, "GET /api/v1/items/{id} #%u", i);
	*spec = (struct span_spec){ id, parent, start, 10000 * MS - (uint64_t)depth * 2 * MS,
		BIG_SERVICES[i % 20], name, i % 97 == 5, i % 97 == 5 ? "upstream timeout" : NULL };
}

static void write_big(struct tm_store *st, unsigned trace, unsigned n)
{
	static struct tm_attr attrs[6];
	static struct tm_attr ev_attrs[1];
	static struct tm_event ev[1];
	attrs[0] = (struct tm_attr){ S("http.method"), { .type = TM_VAL_STRING, .u.str = S("GET") } };
	attrs[1] = (struct tm_attr){ S("http.route"),
		{ .type = TM_VAL_STRING, .u.str = S("/api/v1/items/{id}") } };
	attrs[2] = (struct tm_attr){ S("http.status_code"), { .type = TM_VAL_INT, .u.integer = 200 } };
	attrs[3] = (struct tm_attr){ S("net.peer.name"),
		{ .type = TM_VAL_STRING, .u.str = S("items.internal.example.com") } };
	attrs[4] = (struct tm_attr){ S("thread.id"), { .type = TM_VAL_INT, .u.integer = 42 } };
	attrs[5] = (struct tm_attr){ S("cache.hit"), { .type = TM_VAL_BOOL, .u.boolean = 1 } };
	ev_attrs[0] = (struct tm_attr){ S("message"), { .type = TM_VAL_STRING, .u.str = S("sent") } };
	struct tm_span extra;
	memset(&extra, 0, sizeof(extra));
	extra.attrs = (struct tm_attrs){ attrs, 6, 0 };
	extra.events = ev;
	extra.n_events = 1;
	struct writer w;
	for (unsigned i = 0; i < n; i++) {
		if (i % SPANS_PER_COMMIT == 0)
			writer_begin(&w);
		struct span_spec spec;
		char name[64];
		big_spec(i, n, &spec, name, sizeof(name));
		ev[0] = (struct tm_event){ T0 + spec.start_ns + 1000, S("message"), { ev_attrs, 1, 0 } };
		writer_add(&w, trace, &spec, &extra);
		if (i % SPANS_PER_COMMIT == SPANS_PER_COMMIT - 1 || i == n - 1)
			writer_commit(&w, st);
	}
}

/* a trace with its details inline: 1,000 spans of 6 attributes and an
 * event is about as much as fits */
static void check_medium(struct tm_store *st)
{
	write_big(st, 4, 1000);
	struct page p = render(st, 4, NULL, 0);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "medium");
	printf("1,000-span trace page, details inline: %zu bytes (%.2f MB) in %.1f ms\n",
	       p.buf.len, (double)p.buf.len / 1e6, p.ms);
	CHECK_INT_EQ(count(html(&p), "<details>"), 1000);
	CHECK(strstr(html(&p), "?span=") == NULL);
	check_balanced(html(&p));
	free(p.buf.data);
}

static void check_big(struct tm_store *st)
{
	write_big(st, 3, BIG_SPANS);
	struct page p = render(st, 3, NULL, 0);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "big");
	const char *h = html(&p);
	printf("10,000-span trace page: %zu bytes (%.2f MB) in %.1f ms\n", p.buf.len,
	       (double)p.buf.len / 1e6, p.ms);
	CHECK(p.buf.len < 10u << 20);
	CHECK_INT_EQ(count(h, "<div class=\"r g"), BIG_SPANS);
	CHECK_INT_EQ(count(h, "href=\"?span="), BIG_SPANS);
	CHECK(strstr(h, "<details") == NULL);
	CHECK(strstr(h, "title=\"depth 600\">&#8627;600<") != NULL);
	CHECK(strstr(h, "upstream timeout") != NULL);
	check_balanced(h);
	free(p.buf.data);

	unsigned span = 5001;
	p = render(st, 3, &span, 0);
	CHECK_INT_EQ(p.rc, 0);
	save(&p, "big-span");
	printf("its ?span= page: %zu bytes in %.1f ms\n", p.buf.len, p.ms);
	h = html(&p);
	const char *box = strstr(h, "class=\"selbox\"");
	const char *wf = strstr(h, "id=\"wf\"");
	CHECK(box && wf && box < wf);
	CHECK(box && strstr(box, "items.internal.example.com") < wf);
	CHECK(strstr(h, "<div class=\"r g sel\" id=\"s0000000000001389\"") ||
	      strstr(h, "<div class=\"r g cp sel\" id=\"s0000000000001389\""));
	free(p.buf.data);

	p = render(st, 3, NULL, 1);
	CHECK_INT_EQ(p.rc, 0);
	printf("exported: %zu bytes in %.1f ms\n", p.buf.len, p.ms);
	CHECK(strstr(html(&p), "?span=") == NULL);
	free(p.buf.data);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tm-trace-page-XXXXXX");
	if (!mkdtemp(dir))
		return 99;
	struct tm_store_options opt = { .dir = dir, .sync = TM_SYNC_NONE };
	struct tm_store *st = NULL;
	if (tm_store_open(&opt, &st))
		return 99;
	struct writer w;
	writer_begin(&w);
	for (size_t i = 0; i < sizeof(SMALL) / sizeof(SMALL[0]); i++)
		writer_add(&w, 1, &SMALL[i], NULL);
	struct tm_span hostile;
	hostile_span(&hostile);
	for (size_t i = 0; i < sizeof(HOSTILE) / sizeof(HOSTILE[0]); i++)
		writer_add(&w, 2, &HOSTILE[i], &hostile);
	writer_commit(&w, st);

	check_small(st);
	check_hostile(st);
	check_static_and_errors(st);
	check_medium(st);
	check_big(st);

	tm_store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT_EQ(system(cmd), 0);
	return TEST_DONE();
}
