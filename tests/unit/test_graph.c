/* test_graph.c - DOT generation, escaping of odd names, Graphviz layout to
 * SVG, the layout cache, and (printed, not checked) the render times. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "histogram.h"
#include "testutil.h"

static struct tm_str S(const char *s)
{
	return (struct tm_str){ s, strlen(s) };
}

/* the buffer as a C string */
static const char *cstr(struct tm_buf *b)
{
	tm_buf_add(b, "", 1);
	b->len--;
	return (const char *)b->data;
}

static const char *dot_label(const char *s, size_t max)
{
	static struct tm_buf b;
	tm_buf_free(&b);
	tm_graph_dot_label(&b, S(s), max);
	return cstr(&b);
}

static const char *html_label(struct tm_str s, size_t max)
{
	static struct tm_buf b;
	tm_buf_free(&b);
	tm_graph_html_label(&b, s, max);
	return cstr(&b);
}

static void test_escaping(void)
{
	CHECK_STR_EQ(dot_label("say \"hi\"", 0), "say \\\"hi\\\"");
	CHECK_STR_EQ(dot_label("C:\\path\\N", 0), "C:\\\\path\\\\N");
	CHECK_STR_EQ(dot_label("a&b &lt;", 0), "a&amp;b &amp;lt;");
	CHECK_STR_EQ(dot_label("<script>x</script>", 0), "<script>x</script>");
	CHECK_STR_EQ(dot_label("two\nlines\r\t", 0), "two\xef\xbf\xbdlines\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_STR_EQ(dot_label("サービス", 0), "サービス");
	CHECK_STR_EQ(dot_label("pay \xf0\x9f\x92\xb3 api", 0), "pay \xf0\x9f\x92\xb3 api");
	CHECK_STR_EQ(dot_label("bad \xff\xc0\xaf end", 0),
		     "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
	CHECK_STR_EQ(dot_label("\xed\xa0\x80", 0), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_STR_EQ(dot_label("rtl \xe2\x80\xae evil", 0), "rtl \xef\xbf\xbd evil");
	CHECK_STR_EQ(dot_label("", 0), "(no name)");
	CHECK_STR_EQ(dot_label("abcdef", 4), "abc\xe2\x80\xa6");
	CHECK_STR_EQ(dot_label("abcd", 4), "abcd");
	CHECK_STR_EQ(dot_label("サービス名前", 3), "サー\xe2\x80\xa6");
	char nul_name[] = { 'a', 0, 'b' };
	CHECK_STR_EQ(html_label((struct tm_str){ nul_name, 3 }, 0), "a\xef\xbf\xbd" "b");
	CHECK_STR_EQ(html_label(S("<b a='1'>&\"</b>"), 0),
		     "&lt;b a=&#39;1&#39;&gt;&amp;&quot;&lt;/b&gt;");
	char long_name[1001];
	memset(long_name, 'x', 1000);
	long_name[1000] = '\0';
	const char *cut = dot_label(long_name, TM_GRAPH_LABEL_CHARS);
	CHECK_INT_EQ(strlen(cut), TM_GRAPH_LABEL_CHARS - 1 + 3);
	CHECK_INT_EQ(strlen(dot_label(long_name, 0)), 1000);
}

static void test_numbers(void)
{
	char b[12];
	tm_graph_fmt_rate(b, 0);       CHECK_STR_EQ(b, "0");
	tm_graph_fmt_rate(b, 0.001);   CHECK_STR_EQ(b, "<0.01");
	tm_graph_fmt_rate(b, 0.25);    CHECK_STR_EQ(b, "0.25");
	tm_graph_fmt_rate(b, 12.34);   CHECK_STR_EQ(b, "12.3");
	tm_graph_fmt_rate(b, 999.4);   CHECK_STR_EQ(b, "999");
	tm_graph_fmt_rate(b, 999.7);   CHECK_STR_EQ(b, "1k");
	tm_graph_fmt_rate(b, 12345);   CHECK_STR_EQ(b, "12.3k");
	tm_graph_fmt_rate(b, 2.5e6);   CHECK_STR_EQ(b, "2.5M");
	tm_graph_fmt_ns(b, 850);       CHECK_STR_EQ(b, "850 ns");
	tm_graph_fmt_ns(b, 1500);      CHECK_STR_EQ(b, "1.5 \xc2\xb5s");
	tm_graph_fmt_ns(b, 12345678);  CHECK_STR_EQ(b, "12.3 ms");
	tm_graph_fmt_ns(b, 999600000); CHECK_STR_EQ(b, "1 s");
	tm_graph_fmt_ns(b, 135000000000ull); CHECK_STR_EQ(b, "2.25 min");
	tm_graph_fmt_ns(b, 7200000000000ull); CHECK_STR_EQ(b, "2 h");
	tm_graph_fmt_ns(b, UINT64_MAX); CHECK_STR_EQ(b, ">999 h");
	tm_graph_fmt_share(b, 0, 10);  CHECK_STR_EQ(b, "0%");
	tm_graph_fmt_share(b, 1, 10000); CHECK_STR_EQ(b, "<0.1%");
	tm_graph_fmt_share(b, 25, 1000); CHECK_STR_EQ(b, "2.5%");
	tm_graph_fmt_share(b, 7, 7);   CHECK_STR_EQ(b, "100%");
	CHECK_INT_EQ(tm_graph_error_class(0, 0), 0);
	CHECK_INT_EQ(tm_graph_error_class(0, 100), 1);
	CHECK_INT_EQ(tm_graph_error_class(1, 100), 2);
	CHECK_INT_EQ(tm_graph_error_class(5, 100), 3);
}

/*---- maps to draw ----*/

static struct tm_hist *hists;   /* a few shared latency distributions */
#define N_HISTS 4

static void hists_init(void)
{
	hists = calloc(N_HISTS, sizeof(*hists));
	for (int h = 0; h < N_HISTS; h++) {
		tm_hist_init(&hists[h]);
		for (int i = 1; i <= 1000; i++)
			tm_hist_add(&hists[h], (uint64_t)i * 10000 * (uint64_t)(h + 1) * (h + 1));
	}
}

static struct tm_smap_stat stat_of(uint64_t calls, uint64_t errors, int h)
{
	/* as the query fills it: the percentiles beside the histogram */
	const struct tm_hist *x = &hists[h % N_HISTS];
	return (struct tm_smap_stat){ .calls = calls, .errors = errors, .hist = &hists[h % N_HISTS],
				      .p50_ns = tm_hist_percentile(x, 0.5),
				      .p90_ns = tm_hist_percentile(x, 0.9),
				      .p99_ns = tm_hist_percentile(x, 0.99) };
}

struct map {
	struct tm_smap_map m;
	char **names;
};

static void map_free(struct map *x)
{
	for (size_t i = 0; i < x->m.n_nodes; i++)
		free(x->names[i]);
	free(x->names);
	free(x->m.nodes);
	free(x->m.edges);
	memset(x, 0, sizeof(*x));
}

static void map_node(struct map *x, size_t i, const char *name, size_t len,
		     enum tm_smap_node_kind kind, uint64_t calls, uint64_t errors)
{
	x->names[i] = malloc(len + 1);
	memcpy(x->names[i], name, len);
	x->names[i][len] = '\0';
	struct tm_smap_node *n = &x->m.nodes[i];
	memset(n, 0, sizeof(*n));
	n->id = (struct tm_str){ x->names[i], len };
	n->service = kind == TM_SMAP_SERVICE ? n->id : (struct tm_str){ "", 0 };
	n->kind = kind;
	n->stat = stat_of(calls, errors, (int)i);
}

static void map_alloc(struct map *x, size_t nodes, size_t edges)
{
	memset(x, 0, sizeof(*x));
	x->names = calloc(nodes, sizeof(char *));
	x->m.nodes = calloc(nodes, sizeof(*x->m.nodes));
	x->m.edges = calloc(edges ? edges : 1, sizeof(*x->m.edges));
	x->m.n_nodes = nodes;
}

static void map_edge(struct map *x, size_t src, size_t dst, uint64_t calls, uint64_t errors)
{
	struct tm_smap_edge *e = &x->m.edges[x->m.n_edges++];
	e->source = src;
	e->target = dst;
	e->stat = stat_of(calls, errors, (int)(src + dst));
}

static char long_name[1001];

/* the odd names the issue lists, one node each */
static const char *const odd[] = {
	"frontend", "say \"hi\" svc", "back\\slash\\N\\G", "<script>alert(1)</script>",
	"amp & co &lt;x&gt;", "two\nlines", "サービス", "pay \xf0\x9f\x92\xb3 api", "",
	long_name, "it's-a--comment-->", "orders-db",
};
#define N_ODD (sizeof(odd) / sizeof(odd[0]))

static void odd_map(struct map *x)
{
	memset(long_name, 'L', 1000);
	memcpy(long_name, "long-", 5);
	map_alloc(x, N_ODD, N_ODD);
	for (size_t i = 0; i < N_ODD; i++)
		map_node(x, i, odd[i], strlen(odd[i]), i == N_ODD - 1 ? TM_SMAP_DATABASE
			 : i == 0 ? TM_SMAP_USER : TM_SMAP_SERVICE, 1000 * i, i);
	for (size_t i = 1; i < N_ODD; i++)
		map_edge(x, i - 1, i, 100 * i, i % 3);
	map_edge(x, 3, N_ODD - 1, 5, 5);
}

static void link_fn(void *arg, struct tm_buf *out, const struct tm_smap_map *m,
		    enum tm_graph_part part, size_t i)
{
	(void)arg;
	const struct tm_smap_node *n =
		part == TM_GRAPH_EDGE ? &m->nodes[m->edges[i].target] : &m->nodes[i];
	if (n->kind != TM_SMAP_SERVICE)
		return;
	tm_buf_add_str(out, part == TM_GRAPH_EDGE ? "/search?sort=slowest&amp;service=" : "/services/");
	for (size_t k = 0; k < n->service.len; k++) {
		unsigned char c = (unsigned char)n->service.ptr[k];
		char e[4];
		snprintf(e, sizeof(e), isalnum(c) ? "%c" : "%%%02X", c);
		tm_buf_add_str(out, e);
	}
}

/*---- checks on SVG text ----*/

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static int has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

/* start and end tags balance, every '<' opens a tag, every '&' an entity */
static int xml_balanced(const char *s)
{
	char stack[64][32];
	int depth = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '&') {
			const char *semi = strchr(p, ';');
			if (!semi || semi - p > 10)
				return fprintf(stderr, "bare & at %.30s\n", p), 0;
			continue;
		}
		if (*p != '<')
			continue;
		const char *gt = strchr(p, '>');
		if (!gt)
			return 0;
		if (p[1] == '!' || p[1] == '?')
			return fprintf(stderr, "prolog or comment left: %.30s\n", p), 0;
		int closing = p[1] == '/', self = gt[-1] == '/';
		const char *name = p + 1 + closing;
		size_t len = strcspn(name, " />");
		if (!len || len >= 32)
			return fprintf(stderr, "odd tag at %.30s\n", p), 0;
		if (closing) {
			if (!depth || strncmp(stack[depth - 1], name, len) || stack[depth - 1][len])
				return fprintf(stderr, "unbalanced at %.40s\n", p), 0;
			depth--;
		} else if (!self) {
			if (depth == 64)
				return 0;
			memcpy(stack[depth], name, len);
			stack[depth++][len] = '\0';
		}
		p = gt;
	}
	return depth == 0;
}

/* decodes the XML entities Graphviz writes, into out */
static void xml_decode(const char *s, size_t len, struct tm_buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '&') {
			tm_buf_add(out, &s[i], 1);
			continue;
		}
		static const struct { const char *ent, *ch; } ents[] = {
			{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
			{ "&apos;", "'" },
		};
		size_t k;
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
			if (!strncmp(s + i, ents[k].ent, strlen(ents[k].ent))) {
				tm_buf_add_str(out, ents[k].ch);
				i += strlen(ents[k].ent) - 1;
				break;
			}
		if (k < sizeof(ents) / sizeof(ents[0]))
			continue;
		if (s[i + 1] == '#') {
			char *end;
			unsigned long cp = s[i + 2] == 'x' ? strtoul(s + i + 3, &end, 16)
							    : strtoul(s + i + 2, &end, 10);
			char u[4];
			size_t n = cp < 0x80 ? (u[0] = (char)cp, 1)
				 : cp < 0x800 ? (u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), 2)
				 : (u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 63)),
				    u[2] = (char)(0x80 | (cp & 63)), 3);
			tm_buf_add(out, u, n);
			i = (size_t)(end - s);
			continue;
		}
		tm_buf_add(out, &s[i], 1);
	}
}

/* the decoded text of every <text> of a Graphviz SVG, one per line */
static void svg_texts(const char *svg, struct tm_buf *out)
{
	for (const char *p = strstr(svg, "<text "); p; p = strstr(p, "<text ")) {
		const char *start = strchr(p, '>') + 1, *stop = strstr(start, "</text>");
		xml_decode(start, (size_t)(stop - start), out);
		tm_buf_add_str(out, "\n");
		p = stop;
	}
}

/* Graphviz itself draws our DOT: every odd name comes back as it was
 * cleaned, so the DOT escaping says what we mean */
static void test_dot_round_trip(const struct tm_smap_map *m)
{
	struct tm_graph_options opt = { .window_s = 60, .href = link_fn };
	struct tm_buf dot, texts;
	tm_buf_init(&dot);
	tm_buf_init(&texts);
	CHECK_INT_EQ(tm_graph_dot(m, &opt, &dot), 0);
	const char *d = cstr(&dot);
	CHECK(strstr(d, "label=\"say \\\"hi\\\" svc\\n") != NULL);
	CHECK(strstr(d, "back\\\\slash\\\\N\\\\G") != NULL);
	CHECK(strstr(d, "amp &amp; co &amp;lt;x&amp;gt;") != NULL);
	CHECK(strstr(d, "two\xef\xbf\xbdlines") != NULL);
	CHECK(strstr(d, "shape=cylinder") != NULL);
	CHECK(strstr(d, "shape=ellipse") != NULL);
	CHECK(strstr(d, "URL=\"/services/say%20%22hi%22%20svc\"") != NULL);

	struct tm_buf raw;
	char err[256];
	tm_buf_init(&raw);
	CHECK_INT_EQ(tm_graph_render_dot(d, "dot", &raw, err, sizeof(err)), 0);
	const char *svg = cstr(&raw);
	tm_buf_add_str(&texts, "\n");
	svg_texts(svg, &texts);
	const char *t = cstr(&texts);
	for (size_t i = 0; i < m->n_nodes; i++) {
		/* the label's first line as tm_graph_html_label shows it, its
		 * entities decoded, is a whole line of what Graphviz drew */
		struct tm_buf want;
		tm_buf_init(&want);
		tm_buf_add_str(&want, "\n");
		const char *h = html_label(m->nodes[i].id, TM_GRAPH_LABEL_CHARS);
		xml_decode(h, strlen(h), &want);
		tm_buf_add_str(&want, "\n");
		if (!strstr(t, cstr(&want))) {
			fprintf(stderr, "graphviz did not draw \"%s\"\n", h);
			CHECK(0);
		}
		tm_buf_free(&want);
	}
	CHECK(!strstr(svg, "<script"));
	tm_buf_free(&raw);
	tm_buf_free(&dot);
	tm_buf_free(&texts);
}

static void test_svg(const struct tm_smap_map *m)
{
	struct tm_graph_options opt = { .window_s = 60, .href = link_fn };
	struct tm_buf svg;
	char err[256];
	tm_buf_init(&svg);
	int rc = tm_graph_svg(m, &opt, &svg, err, sizeof(err));
	CHECK_INT_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "tm_graph_svg: %s\n", err);
		return;
	}
	const char *s = cstr(&svg);
	CHECK(!strncmp(s, "<svg ", 5));
	CHECK(!has_ci(s, "<script"));
	CHECK(!strstr(s, "<?xml") && !strstr(s, "<!DOCTYPE") && !strstr(s, "<!--"));
	CHECK(xml_balanced(s));
	CHECK_INT_EQ(count(s, "class=\"node"), m->n_nodes);
	CHECK_INT_EQ(count(s, "class=\"edge"), m->n_edges);
	for (size_t i = 0; i < m->n_nodes; i++) {
		char id[64];
		snprintf(id, sizeof(id), "<g id=\"gn%zu\" class=\"node", i);
		const char *g = strstr(s, id);
		CHECK(g != NULL);
		if (!g)
			continue;
		/* the full name in the title, escaped, inside the node's link */
		struct tm_buf want;
		tm_buf_init(&want);
		tm_buf_add_str(&want, "<title>");
		tm_graph_html_label(&want, m->nodes[i].id, 0);
		tm_buf_add_str(&want, " (");
		const char *a = strstr(g, "<a");
		const char *title = strstr(g, "<title>");
		CHECK(title && !strncmp(title, cstr(&want), want.len));
		CHECK(a && title && a < title && !strncmp(a, "<a", 2));
		CHECK(title && title < strstr(g, "</a>"));
		CHECK(strncmp(strstr(g, "<a"), "<a xlink:title", 14));
		/* the cut name in the label */
		want.len = 0;
		tm_buf_add_str(&want, ">");
		tm_graph_html_label(&want, m->nodes[i].id, TM_GRAPH_LABEL_CHARS);
		tm_buf_add_str(&want, "</text>");
		CHECK(strstr(g, cstr(&want)) != NULL);
		tm_buf_free(&want);
	}
	CHECK(strstr(s, "<title>&lt;script&gt;alert(1)&lt;/script&gt; (service)&#10;") != NULL);
	CHECK(strstr(s, "<title>amp &amp; co &amp;lt;x&amp;gt; (service)&#10;") != NULL);
	CHECK(strstr(s, ">back\\slash\\N\\G</text>") != NULL);
	CHECK(strstr(s, ">(no name)</text>") != NULL);
	CHECK(strstr(s, "<title>サービス \xe2\x86\x92 pay \xf0\x9f\x92\xb3 api&#10;calls: ") != NULL);
	CHECK(!strstr(s, "xlink:title"));        /* said once, in the <title> */
	CHECK(strstr(s, "xlink:href=\"/services/say%20%22hi%22%20svc\"") != NULL);
	CHECK(strstr(s, "xlink:href=\"/search?sort=slowest&amp;service=") != NULL);
	CHECK(strstr(s, "<a tabindex=\"-1\"") != NULL);
	CHECK(strstr(s, "errors: 5 (100%)") != NULL);     /* an edge tooltip */
	CHECK(strstr(s, "8.88") == NULL);                 /* no placeholder left */
	CHECK(strstr(s, "class=\"node k1 e1\"") != NULL);  /* database, green */
	CHECK(strstr(s, "class=\"edge e3\"") != NULL);    /* all errors: red */
	tm_buf_free(&svg);
}

/* a second page over the same topology lays out nothing; new numbers show */
static void test_cache(struct map *x)
{
	struct tm_graph_options opt = { .window_s = 60, .href = link_fn };
	struct tm_graph_stats before, after;
	struct tm_buf a, b;
	char err[256];
	tm_buf_init(&a);
	tm_buf_init(&b);
	tm_graph_get_stats(&before);
	CHECK_INT_EQ(tm_graph_svg(&x->m, &opt, &a, err, sizeof(err)), 0);
	x->m.nodes[1].stat.calls += 600;         /* same error class */
	CHECK_INT_EQ(tm_graph_svg(&x->m, &opt, &b, err, sizeof(err)), 0);
	tm_graph_get_stats(&after);
	CHECK_INT_EQ(after.layouts, before.layouts);
	CHECK_INT_EQ(after.cache_hits, before.cache_hits + 2);
	CHECK(a.len != b.len || memcmp(a.data, b.data, a.len));
	CHECK(strstr(cstr(&b), "requests: 1600 (26.7/s)") != NULL);
	x->m.nodes[1].stat.errors = 500;          /* turns red: a new layout */
	b.len = 0;
	CHECK_INT_EQ(tm_graph_svg(&x->m, &opt, &b, err, sizeof(err)), 0);
	tm_graph_get_stats(&after);
	CHECK_INT_EQ(after.layouts, before.layouts + 1);
	x->m.nodes[1].stat.calls -= 600;
	x->m.nodes[1].stat.errors = 1;
	tm_buf_free(&a);
	tm_buf_free(&b);
}

static void test_operation_level(void)
{
	static const char *const ids[] = { "api:GET /a", "api:POST /b", "db", "web:index" };
	struct map x;
	map_alloc(&x, 4, 3);
	for (size_t i = 0; i < 4; i++) {
		map_node(&x, i, ids[i], strlen(ids[i]), i == 2 ? TM_SMAP_DATABASE : TM_SMAP_SERVICE,
			 10, 0);
		const char *colon = strchr(x.names[i], ':');
		if (colon) {
			x.m.nodes[i].service = (struct tm_str){ x.names[i], (size_t)(colon - x.names[i]) };
			x.m.nodes[i].operation = S(colon + 1);
		}
	}
	map_edge(&x, 3, 0, 5, 0);
	map_edge(&x, 0, 1, 5, 0);
	map_edge(&x, 1, 2, 5, 1);
	struct tm_graph_options opt = { .window_s = 60, .operation_level = 1, .href = link_fn,
					.focus = S("api:GET /a") };
	struct tm_buf svg;
	char err[256];
	tm_buf_init(&svg);
	int rc = tm_graph_svg(&x.m, &opt, &svg, err, sizeof(err));
	CHECK_INT_EQ(rc, 0);
	if (rc) {
		struct tm_buf dot;
		tm_buf_init(&dot);
		tm_graph_dot(&x.m, &opt, &dot);
		fprintf(stderr, "%s\n%s", err, cstr(&dot));
		tm_buf_free(&dot);
	}
	const char *s = cstr(&svg);
	CHECK_INT_EQ(count(s, "class=\"cluster\""), 2);
	CHECK(strstr(s, "<title>api (service)</title>") != NULL);
	CHECK(strstr(s, ">GET /a</text>") != NULL);
	CHECK(strstr(s, "<title>api:GET /a (operation)&#10;") != NULL);
	CHECK(strstr(s, "stroke-width=\"3\"") != NULL);   /* the focus */
	CHECK(xml_balanced(s));
	tm_buf_free(&svg);
	map_free(&x);
}

static void test_too_big(void)
{
	struct map x;
	map_alloc(&x, TM_GRAPH_MAX_NODES + 1, 0);
	struct tm_graph_options opt = { .window_s = 60 };
	struct tm_buf svg;
	char err[128];
	tm_buf_init(&svg);
	CHECK_INT_EQ(tm_graph_svg(&x.m, &opt, &svg, err, sizeof(err)), -E2BIG);
	CHECK(strstr(err, "too many") != NULL);
	free(x.names);
	free(x.m.nodes);
	free(x.m.edges);
}

/*---- how long it takes (printed) ----*/

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* services in tiers (user -> frontends -> ... -> databases), each calling
 * about edges/nodes services of the next tiers, like a real system */
static void random_map(struct map *x, size_t nodes, size_t edges, unsigned seed)
{
	srand(seed);
	map_alloc(x, nodes, edges);
	for (size_t i = 0; i < nodes; i++) {
		char name[64];
		int kind = i == 0 ? TM_SMAP_USER : i % 10 == 9 ? TM_SMAP_DATABASE
			 : i % 23 == 22 ? TM_SMAP_MESSAGING : i % 31 == 30 ? TM_SMAP_EXTERNAL
			 : TM_SMAP_SERVICE;
		snprintf(name, sizeof(name), "%s-%03zu", kind == TM_SMAP_DATABASE ? "store"
			 : kind == TM_SMAP_USER ? "user" : "service", i);
		uint64_t calls = 1 + (uint64_t)rand() % 100000;
		map_node(x, i, name, strlen(name), (enum tm_smap_node_kind)kind, calls,
			 rand() % 4 ? 0 : calls * (uint64_t)(rand() % 10) / 100);
	}
	while (x->m.n_edges < edges) {
		size_t a = (size_t)rand() % (nodes - 1), b = a + 1 + (size_t)rand() % (nodes / 5 + 1);
		if (b >= nodes || x->m.nodes[a].kind == TM_SMAP_DATABASE)
			continue;
		int dup = 0;
		for (size_t k = 0; k < x->m.n_edges && !dup; k++)
			dup = x->m.edges[k].source == a && x->m.edges[k].target == b;
		if (!dup)
			map_edge(x, a, b, 1 + (uint64_t)rand() % 50000, rand() % 5 ? 0 : 3);
	}
}

static double cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void dump(const char *name, size_t nodes, const struct tm_buf *b)
{
	const char *dir = getenv("TEST_GRAPH_DUMP");   /* a directory */
	char path[512];
	snprintf(path, sizeof(path), "%s/map-%zu.%s", dir ? dir : ".", nodes, name);
	FILE *f = dir ? fopen(path, "w") : NULL;
	if (f) {
		fwrite(b->data, 1, b->len, f);
		fclose(f);
	}
}

/* wall time (what a page waits) and CPU time (what it costs on a machine
 * shared with other work) of a cold render, then of a cached one with new
 * numbers */
static void time_render(size_t nodes, size_t edges)
{
	struct map x;
	random_map(&x, nodes, edges, 7);
	struct tm_graph_options opt = { .window_s = 900, .href = link_fn };
	struct tm_buf svg, dot;
	char err[256];
	struct timespec t0;
	tm_buf_init(&svg);
	tm_buf_init(&dot);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double c0 = cpu_ms();
	int rc = tm_graph_svg(&x.m, &opt, &svg, err, sizeof(err));
	double cold = ms_since(&t0), cold_cpu = cpu_ms() - c0;
	CHECK_INT_EQ(rc, 0);
	struct tm_graph_stats st;
	tm_graph_get_stats(&st);
	double warm = 1e9, warm_cpu = 1e9;
	for (int i = 0; i < 5; i++) {
		x.m.nodes[1].stat.calls++;          /* new numbers, same picture */
		svg.len = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		c0 = cpu_ms();
		rc = tm_graph_svg(&x.m, &opt, &svg, err, sizeof(err));
		double w = ms_since(&t0), wc = cpu_ms() - c0;
		warm = w < warm ? w : warm;
		warm_cpu = wc < warm_cpu ? wc : warm_cpu;
		CHECK_INT_EQ(rc, 0);
	}
	CHECK(xml_balanced(cstr(&svg)));
	tm_graph_dot(&x.m, &opt, &dot);
	printf("%4zu nodes %4zu edges (%s%s): cold %.0f ms wall, %.0f ms CPU (layout %.0f ms wall); "
	       "cached %.1f ms wall, %.1f ms CPU; SVG %zu bytes\n", nodes, edges,
	       nodes > TM_GRAPH_SFDP_NODES ? "sfdp" : "dot",
	       edges > TM_GRAPH_EDGE_LABELS_MAX ? ", no edge labels"
	       : edges > TM_GRAPH_LAYOUT_LABELS_MAX || nodes > TM_GRAPH_SFDP_NODES ? ", xlabels"
	       : ", labels", cold, cold_cpu, st.last_layout_ms,
	       warm, warm_cpu, svg.len);
	dump("svg", nodes, &svg);
	dump("dot", nodes, &dot);
	tm_buf_free(&svg);
	tm_buf_free(&dot);
	map_free(&x);
}

int main(void)
{
	hists_init();
	test_escaping();
	test_numbers();
	struct map x;
	odd_map(&x);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT_EQ(tm_graph_warm_up(), 0);   /* the process's first layout */
	printf("first layout of the process (a 2-node graph): %.1f ms\n", ms_since(&t0));
	test_dot_round_trip(&x.m);
	test_svg(&x.m);
	test_cache(&x);
	test_operation_level();
	test_too_big();
	map_free(&x);
	time_render(50, 100);
	time_render(50, 150);
	time_render(100, 300);
	time_render(200, 600);
	time_render(300, 900);
	/* Graphviz's own complaint comes back in err */
	struct tm_buf bad;
	char err[256];
	tm_buf_init(&bad);
	CHECK_INT_EQ(tm_graph_render_dot("digraph { a -> ", "dot", &bad, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "syntax error") != NULL);
	tm_graph_cleanup();
	CHECK_INT_EQ(tm_graph_render_dot("digraph{a}", "dot", &bad, err, sizeof(err)), -EIO);
	tm_buf_free(&bad);
	free(hists);
	return TEST_DONE();
}
