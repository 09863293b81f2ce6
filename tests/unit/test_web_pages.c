/* test_web_pages.c - the HTML pages of web/ over a small store written by
 * hostile clients: every client string must come out as text (never as
 * markup or an attribute), every page must be one well-formed document
 * under 1 MB, and bad parameters must name themselves.  Also the SVG
 * charts' bounds and the number formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "servicemap.h"
#include "store.h"
#include "svg_chart.h"
#include "testutil.h"
#include "web.h"

#define S(lit) ((struct tm_str){ (lit), sizeof(lit) - 1 })

#define HOSTILE_SVC "<script>alert(1)</script>"
#define QUOTED_SVC "api\"&'<b>x</b>"
#define ROOT_OP "GET /items?a=\"1\"&b='2'"
#define API_OP "q\"&amp;<i>"
#define HOSTILE_ATTR "\"><img src=x onerror=alert(1)>"
#define N_TRACES 40
#define PAGE_MAX (1024 * 1024)

static const uint64_t SEC = 1000000000ull;
static uint64_t now_ns, t0_ns;

/*---- a store with a service map ----*/

static void trace_id_of(unsigned i, uint8_t id[TM_TRACE_ID_LEN])
{
	memset(id, 0, TM_TRACE_ID_LEN);
	id[0] = 0x7e;
	id[15] = (uint8_t)(i + 1);
}

static struct tm_attr attr_str(const char *key, const char *value)
{
	return (struct tm_attr){ tm_str_from(key),
				 { .type = TM_VAL_STRING, .u.str = tm_str_from(value) } };
}

/* span k (1..4) of trace i: root server span of the hostile service, its
 * client call to the quoted service, that one's server span, and its
 * database call; every tenth trace is slow in the quoted service, every
 * fifth fails there */
static void make_span(struct tm_span *s, unsigned i, unsigned k, struct tm_attr *attrs)
{
	static const char *const names[] = { "", ROOT_OP, "call api", API_OP, "SELECT" };
	static const uint8_t kinds[] = { 0, TM_KIND_SERVER, TM_KIND_CLIENT, TM_KIND_SERVER,
					 TM_KIND_CLIENT };
	uint64_t start = t0_ns + i * 5 * SEC;
	uint64_t api_ns = (i % 10 == 0 ? 400 : 20 + i) * 1000000ull;
	memset(s, 0, sizeof(*s));
	trace_id_of(i, s->trace_id);
	s->span_id[7] = (uint8_t)k;
	s->parent_span_id[7] = (uint8_t)(k - 1);
	s->has_parent = k > 1;
	s->name = tm_str_from(names[k]);
	s->kind = kinds[k];
	s->start_ns = start + (k - 1) * 1000000ull;
	s->end_ns = k == 1 ? start + api_ns + 5000000ull : k == 4 ? s->start_ns + api_ns / 2
						  : s->start_ns + api_ns;
	s->status_code = k == 3 && i % 5 == 0 ? TM_STATUS_ERROR : TM_STATUS_OK;
	attrs[0] = attr_str("http.route", HOSTILE_ATTR);
	attrs[1] = attr_str("db.system", "postgresql");
	attrs[2] = attr_str("db.namespace", HOSTILE_ATTR);
	s->attrs = (struct tm_attrs){ attrs, k == 4 ? 3 : 1, 0 };
}

static void write_traces(struct tm_store *st)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	tm_batch_init(&batch, &arena);
	struct tm_attr svc_attrs[2] = { attr_str("service.name", HOSTILE_SVC),
					attr_str("service.name", QUOTED_SVC) };
	struct tm_resource res[2] = { { { &svc_attrs[0], 1, 0 }, S("") },
				      { { &svc_attrs[1], 1, 0 }, S("") } };
	struct tm_scope scope = { S("lib"), S("1.0"), { NULL, 0, 0 }, S("") };
	uint32_t ri[2], si;
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res[0], &ri[0]), 0);
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res[1], &ri[1]), 0);
	CHECK_INT_EQ(tm_batch_add_scope(&batch, &scope, &si), 0);
	for (unsigned i = 0; i < N_TRACES; i++)
		for (unsigned k = 1; k <= 4; k++) {
			struct tm_span s;
			struct tm_attr attrs[3];
			make_span(&s, i, k, attrs);
			CHECK_INT_EQ(tm_batch_add_span(&batch, &s, ri[k > 2], si), 0);
		}
	tm_batch_done(&batch);
	struct tm_batch *one = &batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&arena);
}

/* pairs everything written and writes the rollups and profiles */
static void build_map(struct tm_store *st, struct tm_smap *m)
{
	CHECK_INT_EQ(tm_smap_step(m, now_ns, 0), 0);
	CHECK_INT_EQ(tm_smap_step(m, now_ns + 600 * SEC, 1), 0);
	struct tm_smap_stats stats;
	tm_smap_get_stats(m, &stats);
	CHECK_INT_EQ(stats.paired_traces, N_TRACES);
	(void)st;
}

/*---- checking a document ----*/

static int has(const struct tm_buf *b, const char *needle)
{
	return memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

static size_t count(const struct tm_buf *b, const char *needle)
{
	size_t n = 0, len = strlen(needle);
	const unsigned char *p = b->data, *end = b->data + b->len;
	while ((p = memmem(p, (size_t)(end - p), needle, len))) {
		n++;
		p += len;
	}
	return n;
}

static int is_void(const char *tag)
{
	static const char *const v[] = { "meta", "input", "br", "hr", "img", "link", "col", "wbr",
					 "source", "area", "base", "embed", "param", "track" };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(tag, v[i]))
			return 1;
	return 0;
}

struct html_check {
	const char *page;
	char stack[64][16];
	size_t depth;
	int errors;
	int balanced;     /* check that elements nest and close */
};

static void fail(struct html_check *h, const char *what, const char *at)
{
	if (h->errors++ < 5)
		fprintf(stderr, "%s: %s at \"%.60s\"\n", h->page, what, at);
}

/* the attributes of a tag: names, then a double-quoted value or none;
 * returns where the tag ends ('>') or NULL */
static const char *attributes(struct html_check *h, const char *p, const char *end)
{
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\n' || *p == '\t'))
			p++;
		if (p < end && (*p == '>' || (*p == '/' && p + 1 < end && p[1] == '>')))
			return *p == '>' ? p : p + 1;
		const char *name = p;
		while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '-' || *p == ':' || *p == '_'))
			p++;
		if (p == name || p == end) {
			fail(h, "bad attribute name", name);
			return NULL;
		}
		if (p - name >= 2 && (name[0] | 32) == 'o' && (name[1] | 32) == 'n' &&
		    strncmp(name, "oninput=", 8))
			fail(h, "event handler attribute", name);
		if (*p != '=')
			continue;   /* a boolean attribute */
		if (++p == end || *p != '"') {
			fail(h, "unquoted attribute value", name);
			return NULL;
		}
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q) {
			fail(h, "unterminated attribute value", name);
			return NULL;
		}
		if (memchr(p + 1, '<', (size_t)(q - p - 1)))
			fail(h, "'<' in an attribute value", name);
		p = q + 1;
		if (p < end && *p != ' ' && *p != '>' && *p != '/' && *p != '\n')
			fail(h, "attribute value runs on after its quote", name);
	}
}

static void open_tag(struct html_check *h, const char *tag, int self_closing)
{
	if (!strcmp(tag, "img") || !strcmp(tag, "iframe") || !strcmp(tag, "object") ||
	    !strcmp(tag, "embed"))
		fail(h, "forbidden element", tag);
	if (!h->balanced || self_closing || is_void(tag))
		return;
	if (h->depth == 64) {
		fail(h, "nesting too deep", tag);
		return;
	}
	snprintf(h->stack[h->depth++], 16, "%s", tag);
}

static void close_tag(struct html_check *h, const char *tag, const char *at)
{
	if (!h->balanced)
		return;
	if (!h->depth || strcmp(h->stack[h->depth - 1], tag)) {
		fail(h, h->depth ? "close tag does not match the open one" : "close tag of nothing",
		     at);
		return;
	}
	h->depth--;
}

/* script and style bodies are raw text up to their close tag */
static const char *raw_text(struct html_check *h, const char *tag, const char *p,
			    const char *end)
{
	char close[24];
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *q = memmem(p, (size_t)(end - p), close, strlen(close));
	if (!q) {
		fail(h, "unclosed raw text element", p);
		return end;
	}
	if (!strcmp(tag, "script") && memmem(p, (size_t)(q - p), "alert", 5))
		fail(h, "a script from a client", p);
	return q;
}

/* walks the document like a tokenizer for what pages write: text,
 * <!DOCTYPE>, and tags with double-quoted attribute values */
static int check_html(const char *page, const struct tm_buf *b, int balanced)
{
	struct html_check h = { .page = page, .balanced = balanced };
	const char *p = (const char *)b->data, *end = p + b->len;
	while (p < end && !h.errors) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt)
			break;
		p = lt + 1;
		if (p < end && *p == '!') {
			p = memchr(p, '>', (size_t)(end - p));
			p = p ? p + 1 : end;
			continue;
		}
		int closing = p < end && *p == '/';
		p += closing;
		char tag[16];
		size_t n = 0;
		while (p < end && n < sizeof(tag) - 1 &&
		       ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			tag[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p++ | 32 : *p++);
		tag[n] = 0;
		if (!n) {
			fail(&h, "'<' in text", lt);
			break;
		}
		const char *gt = attributes(&h, p, end);
		if (!gt)
			break;
		if (closing) {
			close_tag(&h, tag, lt);
		} else {
			open_tag(&h, tag, *gt == '>' && gt[-1] == '/');
			if (!strcmp(tag, "script") || !strcmp(tag, "style")) {
				p = raw_text(&h, tag, gt + 1, end);
				continue;
			}
		}
		p = gt + 1;
	}
	if (balanced && h.depth && !h.errors)
		fail(&h, "elements left open, innermost:", h.stack[h.depth - 1]);
	return h.errors;
}

/* 1 when a link, source, form or stylesheet url names another host
 * (namespace URIs such as xmlns="http://www.w3.org/2000/svg" are no request) */
static int requests_other_host(const struct tm_buf *b)
{
	static const char *const attrs[] = { "src=\"", "href=\"", "action=\"", "url(" };
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		size_t len = strlen(attrs[i]);
		const unsigned char *p = b->data, *end = b->data + b->len;
		while ((p = memmem(p, (size_t)(end - p), attrs[i], len))) {
			p += len;
			if ((size_t)(end - p) >= 2 && (!memcmp(p, "//", 2) ||
				!strncasecmp((const char *)p, "http:", 5) ||
				!strncasecmp((const char *)p, "https:", 6))) {
				fprintf(stderr, "request to another host: %.60s\n", (const char *)p);
				return 1;
			}
		}
	}
	return 0;
}

/* TM_WEB_PAGES_DIR=dir keeps every page as dir/<page>.html, to look at */
static void save_page(const char *page, const struct tm_buf *b)
{
	const char *dir = getenv("TM_WEB_PAGES_DIR");
	if (!dir)
		return;
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/", dir);
	for (const char *p = page; *p && n < (int)sizeof(path) - 6; p++)
		path[n++] = (*p >= 'a' && *p <= 'z') ? *p : '-';
	snprintf(path + n, sizeof(path) - (size_t)n, ".html");
	FILE *f = fopen(path, "w");
	if (f) {
		fwrite(b->data, 1, b->len, f);
		fclose(f);
	}
}

/* what every page must be, whoever wrote it */
static void check_page(const char *page, struct tm_buf *b, int balanced)
{
	tm_buf_add(b, "", 1);   /* for the messages */
	b->len--;
	CHECK(!b->failed);
	CHECK(b->len < PAGE_MAX);
	CHECK(!has(b, "<script>alert"));
	CHECK(!has(b, "<img src=x"));
	CHECK(!has(b, "<b>x</b>"));
	CHECK(!has(b, "&amp;<i>"));
	CHECK_INT_EQ(count(b, "<html"), 1);
	CHECK_INT_EQ(count(b, "</html>"), 1);
	CHECK_INT_EQ(count(b, "<body"), 1);
	CHECK_INT_EQ(count(b, "</body>"), 1);
	CHECK_INT_EQ(count(b, "<main"), 1);
	CHECK_INT_EQ(count(b, "</main>"), 1);
	CHECK(has(b, "<title>"));
	CHECK(!requests_other_host(b));
	int errors = check_html(page, b, balanced);
	CHECK_INT_EQ(errors, 0);
	save_page(page, b);
}

/*---- the pages ----*/

static struct tm_web_window window(const char *name, uint64_t seconds)
{
	return (struct tm_web_window){ now_ns - seconds * SEC, now_ns, name };
}

static int run_service(struct tm_web_ctx *c, struct tm_buf *out, const char *svc)
{
	struct tm_web_window w = window("1h", 3600);
	tm_buf_init(out);
	return tm_web_service_page(out, c, tm_str_from(svc), &w);
}

static void service_pages(struct tm_web_ctx *c)
{
	struct tm_buf out;
	CHECK_INT_EQ(run_service(c, &out, HOSTILE_SVC), 0);
	check_page("service (hostile name)", &out, 1);
	CHECK(has(&out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	CHECK(has(&out, "GET /items?a=&quot;1&quot;&amp;b=&#39;2&#39;"));
	CHECK(has(&out, "<td class=\"n\">40</td>"));            /* its requests */
	CHECK(has(&out, "<svg"));                               /* the histogram */
	CHECK(has(&out, "<rect"));
	CHECK(has(&out, "/services/api%22%26%27%3Cb%3Ex%3C%2Fb%3E?window=1h"));   /* callee */
	CHECK(has(&out, "users (root spans)"));                 /* caller */
	CHECK(has(&out, "/traces/7e"));                          /* slowest traces */
	CHECK(has(&out, "/bottlenecks?service=%3Cscript%3E"));  /* the full ranking */
	CHECK(has(&out, "slow mean"));
	tm_buf_free(&out);

	/* the called service: its database callee named by a hostile attribute */
	CHECK_INT_EQ(run_service(c, &out, QUOTED_SVC), 0);
	check_page("service (quoted name)", &out, 1);
	CHECK(has(&out, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	CHECK(has(&out, "database"));
	CHECK(has(&out, "class=\"n err\""));                     /* its error rate */
	tm_buf_free(&out);

	CHECK_INT_EQ(run_service(c, &out, "nobody"), -ENOENT);
	tm_buf_free(&out);
	CHECK_INT_EQ(run_service(c, &out, ""), -ENOENT);
	tm_buf_free(&out);

	/* an exported site: file links, no window chooser, no search */
	c->static_site = 1;
	CHECK_INT_EQ(run_service(c, &out, HOSTILE_SVC), 0);
	check_page("service (static)", &out, 1);
	CHECK(has(&out, "trace-7e"));
	CHECK(has(&out, "bottlenecks-%3Cscript%3E"));
	CHECK(!has(&out, "<form"));
	CHECK(!has(&out, "/search"));
	CHECK(!has(&out, "href=\"/"));
	c->static_site = 0;
	tm_buf_free(&out);
}

static int run_search(struct tm_web_ctx *c, struct tm_buf *out, struct tm_web_search_params *p)
{
	tm_buf_init(out);
	c->err[0] = 0;
	return tm_web_search_page(out, c, p);
}

static struct tm_web_search_params search_params(const char *svc, int slowest)
{
	return (struct tm_web_search_params){ .service = tm_str_from(svc),
					      .max_duration_ns = UINT64_MAX,
					      .window = window("1h", 3600), .limit = 20,
					      .slowest_first = slowest, .submitted = 1 };
}

static void search_pages(struct tm_web_ctx *c)
{
	struct tm_buf out;
	struct tm_web_search_params p = search_params("", 0);
	p.submitted = 0;
	CHECK_INT_EQ(run_search(c, &out, &p), 0);
	check_page("search (form)", &out, 1);
	CHECK(has(&out, "<option value=\"&lt;script&gt;alert(1)&lt;/script&gt;\">"));
	CHECK(!has(&out, "Results"));
	tm_buf_free(&out);

	/* newest first, a hostile attribute filter echoed back in the form */
	p = search_params(HOSTILE_SVC, 0);
	p.tags = S("http.route=\"\\\"><img src=x onerror=alert(1)>\"");
	CHECK_INT_EQ(run_search(c, &out, &p), 0);
	check_page("search (newest, hostile tags)", &out, 1);
	CHECK(has(&out, "<strong>20</strong> traces, newest first"));
	CHECK_INT_EQ(count(&out, "<a href=\"/traces/7e"), 40);   /* 20 points, 20 rows */
	CHECK(has(&out, "value=\"http.route=&quot;\\&quot;&gt;&lt;img"));
	CHECK(has(&out, "api&quot;&amp;&#39;&lt;b&gt;x"));     /* in the services column */
	tm_buf_free(&out);

	/* slowest first: whole-trace durations, the 400 ms traces first */
	p = search_params(QUOTED_SVC, 1);
	p.operation = S(API_OP);
	p.min_duration_ns = 100000000ull;
	p.tags = S("a=b");
	CHECK_INT_EQ(run_search(c, &out, &p), 0);
	check_page("search (slowest)", &out, 1);
	CHECK(has(&out, "<strong>4</strong> of the 40 traces"));
	CHECK(has(&out, "attribute filters were not used"));
	CHECK(has(&out, "<rect x="));                              /* error traces: squares */
	tm_buf_free(&out);

	/* bad parameters name themselves */
	p = search_params("", 0);
	p.tags = S("novalue");
	CHECK_INT_EQ(run_search(c, &out, &p), -EINVAL);
	CHECK(strstr(c->err, "'tags'") != NULL);
	tm_buf_free(&out);
	p = search_params("", 0);
	p.limit = 0;
	CHECK_INT_EQ(run_search(c, &out, &p), -EINVAL);
	CHECK(strstr(c->err, "'limit'") != NULL);
	tm_buf_free(&out);
	p = search_params("nobody", 1);
	CHECK_INT_EQ(run_search(c, &out, &p), -EINVAL);
	CHECK(strstr(c->err, "'service'") != NULL);
	tm_buf_free(&out);
	p = search_params("", 0);
	p.min_duration_ns = 2;
	p.max_duration_ns = 1;
	CHECK_INT_EQ(run_search(c, &out, &p), -EINVAL);
	CHECK(strstr(c->err, "'maxDuration'") != NULL);
	tm_buf_free(&out);
}

static void bottleneck_pages(struct tm_web_ctx *c)
{
	struct tm_buf out;
	struct tm_web_window w = window("1h", 3600);
	tm_buf_init(&out);
	CHECK_INT_EQ(tm_web_bottlenecks_page(&out, c, S(HOSTILE_SVC), S(""), &w), 0);
	check_page("bottlenecks", &out, 1);
	CHECK(has(&out, "<strong>5</strong> slow traces"));
	CHECK(has(&out, "q&quot;&amp;amp;&lt;i&gt;"));           /* the slow operation */
	CHECK(has(&out, "class=\"bar\""));
	CHECK(has(&out, "90th percentile"));
	tm_buf_free(&out);

	tm_buf_init(&out);
	CHECK_INT_EQ(tm_web_bottlenecks_page(&out, c, S(HOSTILE_SVC), S(ROOT_OP), &w), 0);
	check_page("bottlenecks (operation)", &out, 1);
	CHECK(has(&out, "<strong>5</strong> slow traces"));
	tm_buf_free(&out);

	tm_buf_init(&out);
	CHECK_INT_EQ(tm_web_bottlenecks_page(&out, c, S(""), S(""), &w), 0);
	check_page("bottlenecks (form)", &out, 1);
	CHECK(has(&out, "Choose a service"));
	tm_buf_free(&out);

	tm_buf_init(&out);
	c->err[0] = 0;
	CHECK_INT_EQ(tm_web_bottlenecks_page(&out, c, S("nobody"), S(""), &w), -EINVAL);
	CHECK(strstr(c->err, "'service'") != NULL);
	tm_buf_free(&out);
}

/* the pages of the other files: the same escaping and document rules */
static void other_pages(struct tm_web_ctx *c)
{
	struct tm_buf out;
	tm_buf_init(&out);
	struct tm_web_map_params mp = { .window = window("1h", 3600), .hops = 1 };
	CHECK_INT_EQ(tm_web_map_page(&out, c, &mp), 0);
	check_page("map", &out, 0);
	tm_buf_free(&out);

	tm_buf_init(&out);
	mp.operation_level = 1;
	mp.focus = S(HOSTILE_SVC);
	CHECK_INT_EQ(tm_web_map_page(&out, c, &mp), 0);
	check_page("map (operations, focus)", &out, 0);
	tm_buf_free(&out);

	uint8_t id[TM_TRACE_ID_LEN];
	trace_id_of(0, id);
	tm_buf_init(&out);
	CHECK_INT_EQ(tm_web_trace_page(&out, c, id), 0);
	check_page("trace", &out, 0);
	tm_buf_free(&out);

	tm_buf_init(&out);
	tm_web_error_page(&out, c, 404, HOSTILE_SVC);
	check_page("error", &out, 1);
	tm_buf_free(&out);
}

/*---- a store that would make pages huge ----*/

#define N_WIDE 600

/* N_WIDE one-span traces of the hostile service, each with its own long
 * operation name full of quotes, so that every table row costs kilobytes */
static void write_wide(struct tm_store *st, struct tm_smap *m)
{
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_batch batch;
	tm_batch_init(&batch, &arena);
	struct tm_attr svc = attr_str("service.name", HOSTILE_SVC);
	struct tm_resource res = { { &svc, 1, 0 }, S("") };
	struct tm_scope scope = { S("lib"), S("1.0"), { NULL, 0, 0 }, S("") };
	uint32_t ri, si;
	CHECK_INT_EQ(tm_batch_add_resource(&batch, &res, &ri), 0);
	CHECK_INT_EQ(tm_batch_add_scope(&batch, &scope, &si), 0);
	static char names[N_WIDE][320];
	for (unsigned i = 0; i < N_WIDE; i++) {
		memset(names[i], '"', 300);
		snprintf(names[i] + 300, 20, "<%u>", i);
		struct tm_span s;
		memset(&s, 0, sizeof(s));
		trace_id_of(1000 + i, s.trace_id);
		s.trace_id[1] = 0xff;   /* apart from the small traces */
		s.trace_id[14] = (uint8_t)(i >> 8);
		s.span_id[7] = 1;
		s.name = tm_str_from(names[i]);
		s.kind = TM_KIND_SERVER;
		s.start_ns = t0_ns + i * 100000000ull;
		s.end_ns = s.start_ns + (1 + i % 50) * 1000000ull;
		s.status_code = i % 3 ? TM_STATUS_OK : TM_STATUS_ERROR;
		CHECK_INT_EQ(tm_batch_add_span(&batch, &s, ri, si), 0);
	}
	tm_batch_done(&batch);
	struct tm_batch *one = &batch;
	CHECK_INT_EQ(tm_store_write(st, &one, 1), 0);
	tm_arena_clear(&arena);
	CHECK_INT_EQ(tm_smap_step(m, now_ns + 700 * SEC, 0), 0);
	CHECK_INT_EQ(tm_smap_step(m, now_ns + 1400 * SEC, 1), 0);
}

static void wide_pages(struct tm_web_ctx *c)
{
	struct tm_buf out;
	CHECK_INT_EQ(run_service(c, &out, HOSTILE_SVC), 0);
	check_page("service (wide)", &out, 1);
	CHECK(has(&out, "not shown, to keep"));
	CHECK(has(&out, "slow mean"));                  /* the sections after the cut */
	tm_buf_free(&out);

	struct tm_web_search_params p = search_params(HOSTILE_SVC, 0);
	p.limit = 500;
	CHECK_INT_EQ(run_search(c, &out, &p), 0);
	check_page("search (wide, newest)", &out, 1);
	tm_buf_free(&out);
	p.slowest_first = 1;
	CHECK_INT_EQ(run_search(c, &out, &p), 0);
	check_page("search (wide, slowest)", &out, 1);
	tm_buf_free(&out);

	struct tm_web_window w = window("1h", 3600);
	tm_buf_init(&out);
	CHECK_INT_EQ(tm_web_bottlenecks_page(&out, c, S(HOSTILE_SVC), S(""), &w), 0);
	check_page("bottlenecks (wide)", &out, 1);
	tm_buf_free(&out);
}

/*---- charts and formatting ----*/

static void charts(void)
{
	char b[32];
	tm_web_fmt_duration(b, sizeof(b), 999.7e3);
	CHECK_STR_EQ(b, "1.00 ms");
	tm_web_fmt_duration(b, sizeof(b), 12345);
	CHECK_STR_EQ(b, "12.3 µs");
	tm_web_fmt_duration(b, sizeof(b), 850);
	CHECK_STR_EQ(b, "850 ns");
	tm_web_fmt_duration(b, sizeof(b), 90e9);
	CHECK_STR_EQ(b, "1.50 min");
	tm_web_fmt_go_duration(b, sizeof(b), 1500000000ull);
	CHECK_STR_EQ(b, "1500ms");
	tm_web_fmt_go_duration(b, sizeof(b), 250000);
	CHECK_STR_EQ(b, "250us");

	/* a wide histogram still draws at most TM_SVG_HIST_BINS bars */
	struct tm_hist *h = malloc(sizeof(*h));
	if (!h)
		exit(99);
	tm_hist_init(h);
	for (uint64_t v = 1000; v < 100 * SEC; v = v * 11 / 10 + 1)
		tm_hist_add(h, v);
	struct tm_buf out;
	tm_buf_init(&out);
	tm_svg_latency_histogram(&out, h, S(HOSTILE_SVC), "requests");
	CHECK(count(&out, "<rect") <= TM_SVG_HIST_BINS);
	CHECK(count(&out, "<rect") > TM_SVG_HIST_BINS / 2);
	CHECK(!has(&out, "<script>"));
	CHECK_INT_EQ(count(&out, "<svg"), 1);
	tm_buf_free(&out);

	/* one value: a bar, not a division by zero */
	tm_hist_init(h);
	tm_hist_add(h, 5000000);
	tm_buf_init(&out);
	tm_svg_latency_histogram(&out, h, S("one"), "requests");
	CHECK_INT_EQ(count(&out, "<rect"), 1);
	CHECK(!has(&out, "nan") && !has(&out, "inf"));
	tm_buf_free(&out);
	free(h);

	/* a scatter draws at most TM_SVG_MAX_POINTS points */
	size_t n = TM_SVG_MAX_POINTS * 2;
	struct tm_svg_trace_point *pts = calloc(n, sizeof(*pts));
	uint8_t id[TM_TRACE_ID_LEN] = { 1 };
	if (!pts)
		exit(99);
	for (size_t i = 0; i < n; i++)
		pts[i] = (struct tm_svg_trace_point){ id, t0_ns + i * SEC, (i + 1) * 1000000ull,
						      i % 7 == 0, S(HOSTILE_SVC), S(ROOT_OP) };
	tm_buf_init(&out);
	tm_svg_trace_scatter(&out, NULL, pts, n, S("traces"));
	CHECK_INT_EQ(count(&out, "<a href="), TM_SVG_MAX_POINTS);
	CHECK(!has(&out, "<script>"));
	CHECK(out.len < PAGE_MAX / 2);
	tm_buf_free(&out);
	free(pts);
}

int main(void)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/tm-web-test-XXXXXX");
	if (!mkdtemp(dir))
		return 99;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ns = (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
	t0_ns = now_ns - 20 * 60 * SEC;

	struct tm_store_options opt = { .dir = dir, .sync = TM_SYNC_NONE };
	struct tm_store *st = NULL;
	struct tm_smap *m = NULL;
	struct tm_smap_options mopt = { .wait_ns = SEC };
	if (tm_store_open(&opt, &st) || tm_smap_new(st, &mopt, &m))
		return 99;
	tm_store_on_commit(st, tm_smap_offer, m);
	write_traces(st);
	build_map(st, m);

	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_web_ctx c = { .arena = &arena, .now_ns = now_ns };
	if (tm_store_reader_begin(st, &c.rd))
		return 99;
	service_pages(&c);
	search_pages(&c);
	bottleneck_pages(&c);
	other_pages(&c);
	charts();
	tm_store_reader_end(c.rd);
	tm_arena_clear(&arena);

	write_wide(st, m);
	if (tm_store_reader_begin(st, &c.rd))
		return 99;
	wide_pages(&c);
	tm_store_reader_end(c.rd);
	tm_arena_clear(&arena);

	tm_store_on_commit(st, NULL, NULL);
	tm_smap_free(m);
	tm_store_close(st);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_DONE();
}
