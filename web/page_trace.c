/* page_trace.c - GET /traces/{id}: one trace as a waterfall.
 *
 * Top to bottom: the trace's facts and download links; the details of the
 * span the URL names (?span=, tm_web_trace_span_page); self time and
 * critical-path time per service; the waterfall; the resources the spans
 * came from; a few lines of script.
 *
 * The waterfall is flat: one row per span in tree order (trace_tree.h),
 * indented by depth, rather than elements nested per subtree.  A chain of
 * 10,000 spans would nest 10,000 deep; Chromium's parser stops nesting at
 * 512 (it makes deeper elements siblings), and deep trees lay out slowly.
 * So collapsing a subtree takes the script (it hides the following rows
 * that are deeper than the clicked one); without script every row shows,
 * which is all of the content.  A row's own details are a <details>
 * element, which opens without script.  Rows are content-visibility:auto,
 * so the browser lays out only those on screen.
 *
 * Size: a row costs about 300 bytes with its names (10,000 spans: 2.9 MB,
 * drawn in about 40 ms), a span's details from a few hundred bytes to
 * kilobytes.  A trace of more than INLINE_MAX_SPANS spans, or
 * whose details would pass INLINE_MAX_BYTES, carries no details inline:
 * the name in each row links to ?span={spanID} (relative, so it resolves
 * against /traces/{id}), the page again with that span's details on top.
 * An exported site has no such pages; there the rows of a big trace are
 * bars only, and the page points at the trace's JSON file. */
#include "svg_chart.h"
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "critical_path.h"
#include "span_match.h"
#include "trace_tree.h"

#define INLINE_MAX_SPANS 2000
#define INLINE_MAX_BYTES (2u << 20) /* as details_fit_inline() estimates them */
#define MAX_INDENT 16             /* depths indented (a third of a 1280 px row at most);
				   deeper rows say their depth */
#define MAX_TEXT_BYTES 4096       /* of one attribute value; the JSON downloads have all */
#define MAX_HEX_BYTES 64          /* of a bytes value */
#define MAX_VALUE_DEPTH 8         /* arrays and maps shown nested this deep */
#define MAX_ROW_MESSAGE_BYTES 120 /* of an error's status message in its row */
#define MAX_LISTED_RESOURCES 200  /* more: each span's details show its own */

struct svc_stat {
	struct tm_str name;
	size_t spans, errors;
	uint64_t self_ns, path_ns;
};

struct id_entry {
	uint8_t id[TM_SPAN_ID_LEN];
	size_t span;
};

/* one trace and everything the page draws from it */
struct view {
	struct tm_web_ctx *c;
	const struct tm_trace *t;
	struct tm_trace_tree tree;
	struct tm_cp_analysis cp;
	char hex[2 * TM_TRACE_ID_LEN + 1];
	uint64_t t0_ns;               /* the trace's first start */
	uint64_t duration_ns;         /* its length */
	uint64_t total_ns;            /* the same, at least 1: it divides */
	size_t n_errors;
	struct id_entry *ids;         /* by span ID, then index */
	uint8_t *is_first;            /* [n_spans]: no earlier span has this span ID */
	struct svc_stat *svcs;        /* by name */
	size_t n_svcs;
	size_t *svc_of;               /* [n_spans]: index into svcs */
	const struct tm_resource **res;   /* distinct resources, first seen first */
	size_t n_res;
	size_t *res_of;               /* [n_spans]: index into res, SIZE_MAX: none */
	int is_inline;                /* every span's details sit in its row */
	int lists_resources;          /* the Resources section is on the page */
	const uint8_t *selected;      /* ?span=, or NULL */
};

/*---- text ----*/

/* the longest prefix of s of at most max bytes that does not split a
 * UTF-8 sequence */
static size_t utf8_prefix(struct tm_str s, size_t max)
{
	if (s.len <= max)
		return s.len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* escaped s, cut after max bytes with a note of its full size */
static void put_text_capped(struct tm_buf *out, struct tm_str s, size_t max)
{
	size_t n = utf8_prefix(s, max);
	tm_html_escape(out, s.ptr, n);
	if (n < s.len)
		tm_web_printf(out, "<span class=\"muted\">… (%zu bytes)</span>", s.len);
}

static void put_dur(struct tm_buf *out, uint64_t ns)
{
	if (ns < 1000)
		tm_web_printf(out, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		tm_web_printf(out, "%.1f µs", (double)ns / 1e3);
	else if (ns < 1000000000)
		tm_web_printf(out, "%.2f ms", (double)ns / 1e6);
	else
		tm_web_printf(out, "%.3f s", (double)ns / 1e9);
}

/* t relative to base, signed: "+1.20 ms", "−3 ns" */
static void put_offset(struct tm_buf *out, uint64_t t, uint64_t base)
{
	tm_buf_add_str(out, t >= base ? "+" : "−");
	put_dur(out, t >= base ? t - base : base - t);
}

static void put_utc(struct tm_buf *out, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	unsigned ms = (unsigned)(ns % 1000000000u / 1000000u);
	struct tm tmv;
	char day[16], clock[16];
	if (!gmtime_r(&sec, &tmv) || !strftime(day, sizeof(day), "%Y-%m-%d", &tmv) ||
	    !strftime(clock, sizeof(clock), "%H:%M:%S", &tmv)) {
		tm_web_printf(out, "%" PRIu64 " ns since 1970", ns);
		return;
	}
	tm_web_printf(out, "<time datetime=\"%sT%s.%03uZ\">%s %s.%03u UTC</time>", day, clock, ms,
		   day, clock, ms);
}

static void put_span_hex(struct tm_buf *out, const uint8_t id[TM_SPAN_ID_LEN])
{
	char hex[2 * TM_SPAN_ID_LEN + 1];
	tm_id_to_hex(id, TM_SPAN_ID_LEN, hex);
	tm_buf_add(out, hex, 2 * TM_SPAN_ID_LEN);
}

static void put_service(struct tm_buf *out, struct tm_str svc)
{
	if (svc.len)
		tm_html_escape_str(out, svc);
	else
		tm_buf_add_str(out, "<i>(no service.name)</i>");
}

static uint64_t span_dur(const struct tm_span *s)
{
	return s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
}

/*---- span IDs: anchors, links within the trace, ?span= ----*/

static int id_entry_cmp(const void *a, const void *b)
{
	const struct id_entry *x = a, *y = b;
	int d = memcmp(x->id, y->id, TM_SPAN_ID_LEN);
	return d ? d : x->span < y->span ? -1 : x->span > y->span;
}

static int index_ids(struct view *v)
{
	size_t n = v->t->n_spans;
	v->ids = tm_arena_alloc(v->c->arena, n * sizeof(*v->ids));
	v->is_first = tm_arena_zalloc(v->c->arena, n);
	if (!v->ids || !v->is_first)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memcpy(v->ids[i].id, v->t->spans[i].span_id, TM_SPAN_ID_LEN);
		v->ids[i].span = i;
	}
	qsort(v->ids, n, sizeof(*v->ids), id_entry_cmp);
	for (size_t k = 0; k < n; k++)
		if (k == 0 || memcmp(v->ids[k].id, v->ids[k - 1].id, TM_SPAN_ID_LEN))
			v->is_first[v->ids[k].span] = 1;
	return 0;
}

/* the position in v->ids of the first span with this ID, or SIZE_MAX */
static size_t find_id(const struct view *v, const uint8_t id[TM_SPAN_ID_LEN])
{
	size_t lo = 0, hi = v->t->n_spans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(v->ids[mid].id, id, TM_SPAN_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->t->n_spans && !memcmp(v->ids[lo].id, id, TM_SPAN_ID_LEN) ? lo : SIZE_MAX;
}

/* the row's id: s<spanID>, and for the later copies of a shared span ID
 * s<spanID>-<index>, so that #s<spanID> always finds the first */
static void put_anchor(struct tm_buf *out, const struct view *v, size_t i)
{
	tm_buf_add_str(out, "s");
	put_span_hex(out, v->t->spans[i].span_id);
	if (!v->is_first[i])
		tm_web_printf(out, "-%zu", i);
}

/*---- services and resources ----*/

struct name_entry {
	struct tm_str name;
	size_t span;
};

static int name_entry_cmp(const void *a, const void *b)
{
	const struct name_entry *x = a, *y = b;
	size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
	int d = n ? memcmp(x->name.ptr, y->name.ptr, n) : 0;
	if (d)
		return d;
	if (x->name.len != y->name.len)
		return x->name.len < y->name.len ? -1 : 1;
	return x->span < y->span ? -1 : x->span > y->span;
}

/* groups the spans by service.name (a sort: no hash a client could aim at) */
static int group_services(struct view *v)
{
	size_t n = v->t->n_spans;
	struct name_entry *e = tm_arena_alloc(v->c->arena, n * sizeof(*e));
	v->svcs = tm_arena_zalloc(v->c->arena, n * sizeof(*v->svcs));
	v->svc_of = tm_arena_alloc(v->c->arena, n * sizeof(*v->svc_of));
	if (!e || !v->svcs || !v->svc_of)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		e[i] = (struct name_entry){ tm_span_service(&v->t->spans[i]), i };
	qsort(e, n, sizeof(*e), name_entry_cmp);
	for (size_t k = 0; k < n; k++) {
		if (k == 0 || !tm_str_eq(e[k].name, e[k - 1].name))
			v->svcs[v->n_svcs++].name = e[k].name;
		size_t i = e[k].span;
		struct svc_stat *st = &v->svcs[v->n_svcs - 1];
		int is_error = v->t->spans[i].status_code == TM_STATUS_ERROR;
		v->svc_of[i] = v->n_svcs - 1;
		st->spans++;
		st->errors += is_error;
		st->self_ns += v->cp.self_ns[i];
		st->path_ns += v->cp.path_ns[i];
		v->n_errors += is_error;
	}
	return 0;
}

/* numbers the distinct resources in order of first use (spans of one
 * resource share its pointer, store.h) */
static int number_resources(struct view *v)
{
	const size_t none = SIZE_MAX, first_use = SIZE_MAX - 1;
	size_t n = v->t->n_spans;
	v->res = tm_arena_alloc(v->c->arena, n * sizeof(*v->res));
	v->res_of = tm_arena_alloc(v->c->arena, n * sizeof(*v->res_of));
	struct id_entry *e = tm_arena_alloc(v->c->arena, n * sizeof(*e));
	if (!v->res || !v->res_of || !e)
		return -ENOMEM;
	/* sorted by pointer, then span: the first of a group is its first use */
	for (size_t i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)v->t->spans[i].resource;
		_Static_assert(sizeof(p) <= TM_SPAN_ID_LEN, "a pointer fits an id_entry key");
		memset(e[i].id, 0, TM_SPAN_ID_LEN);
		for (size_t b = 0; b < sizeof(p); b++)
			e[i].id[TM_SPAN_ID_LEN - 1 - b] = (uint8_t)(p >> (8 * b));
		e[i].span = i;
		v->res_of[i] = none;
	}
	qsort(e, n, sizeof(*e), id_entry_cmp);
	for (size_t k = 0; k < n; k++)
		if (v->t->spans[e[k].span].resource &&
		    (k == 0 || memcmp(e[k].id, e[k - 1].id, TM_SPAN_ID_LEN)))
			v->res_of[e[k].span] = first_use;
	for (size_t i = 0; i < n; i++)
		if (v->res_of[i] == first_use) {
			v->res[v->n_res] = v->t->spans[i].resource;
			v->res_of[i] = v->n_res++;
		}
	/* the others take their group's number, met just before them */
	for (size_t k = 1; k < n; k++)
		if (v->t->spans[e[k].span].resource && v->res_of[e[k].span] == none)
			v->res_of[e[k].span] = v->res_of[e[k - 1].span];
	return 0;
}

/*---- how much inline details would weigh ----*/

static size_t attrs_weight(const struct tm_attrs *a);

static size_t value_weight(const struct tm_value *val)
{
	size_t w = 8;
	switch (val->type) {
	case TM_VAL_STRING:
		return w + (val->u.str.len < MAX_TEXT_BYTES ? val->u.str.len : MAX_TEXT_BYTES);
	case TM_VAL_BYTES:
		return w + 2 * (val->u.str.len < MAX_HEX_BYTES ? val->u.str.len : MAX_HEX_BYTES);
	case TM_VAL_ARRAY:
		for (size_t i = 0; i < val->u.array.n; i++)
			w += value_weight(&val->u.array.items[i]);
		return w;
	case TM_VAL_KVLIST: {
		struct tm_attrs kv = { val->u.kvlist.items, val->u.kvlist.n, 0 };
		return w + attrs_weight(&kv);
	}
	default:
		return w + 16;
	}
}

static size_t attrs_weight(const struct tm_attrs *a)
{
	size_t w = a->n ? 120 : 0;
	for (size_t i = 0; i < a->n; i++)
		w += 50 + a->items[i].key.len + value_weight(&a->items[i].value);
	return w;
}

/* 1 when every span's details fit in the page */
static int details_fit_inline(const struct tm_trace *t)
{
	if (t->n_spans > INLINE_MAX_SPANS)
		return 0;
	size_t w = 0;
	for (size_t i = 0; i < t->n_spans && w <= INLINE_MAX_BYTES; i++) {
		const struct tm_span *s = &t->spans[i];
		w += 800 + s->status_message.len + attrs_weight(&s->attrs);
		for (size_t k = 0; k < s->n_events; k++)
			w += 120 + s->events[k].name.len + attrs_weight(&s->events[k].attrs);
		for (size_t k = 0; k < s->n_links; k++)
			w += 250 + s->links[k].trace_state.len + attrs_weight(&s->links[k].attrs);
	}
	return w <= INLINE_MAX_BYTES;
}

/*---- attribute values ----*/

static const char *value_type_name(enum tm_value_type type)
{
	static const char *const names[] = { "empty", "string", "bool", "int", "double",
					     "array", "map", "bytes" };
	return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static void put_kvlist(struct tm_buf *out, const struct tm_attr *items, size_t n,
		       unsigned depth);

/* a value as text; nested strings are quoted so that [a, b] reads right */
static void put_value(struct tm_buf *out, const struct tm_value *val, unsigned depth)
{
	switch (val->type) {
	case TM_VAL_STRING:
		if (depth)
			tm_buf_add_str(out, "\"");
		put_text_capped(out, val->u.str, MAX_TEXT_BYTES);
		if (depth)
			tm_buf_add_str(out, "\"");
		break;
	case TM_VAL_BOOL:
		tm_buf_add_str(out, val->u.boolean ? "true" : "false");
		break;
	case TM_VAL_INT:
		tm_web_printf(out, "%" PRId64, val->u.integer);
		break;
	case TM_VAL_DOUBLE:
		tm_web_printf(out, "%.17g", val->u.dbl);
		break;
	case TM_VAL_BYTES:
		tm_buf_add_str(out, "0x");
		for (size_t i = 0; i < val->u.str.len && i < MAX_HEX_BYTES; i++)
			tm_web_printf(out, "%02x", (unsigned char)val->u.str.ptr[i]);
		if (val->u.str.len > MAX_HEX_BYTES)
			tm_web_printf(out, "<span class=\"muted\">… (%zu bytes)</span>", val->u.str.len);
		break;
	case TM_VAL_ARRAY:
		if (depth >= MAX_VALUE_DEPTH) {
			tm_buf_add_str(out, "[…]");
			break;
		}
		tm_buf_add_str(out, "[");
		for (size_t i = 0; i < val->u.array.n; i++) {
			tm_buf_add_str(out, i ? ", " : "");
			put_value(out, &val->u.array.items[i], depth + 1);
		}
		tm_buf_add_str(out, "]");
		break;
	case TM_VAL_KVLIST:
		put_kvlist(out, val->u.kvlist.items, val->u.kvlist.n, depth);
		break;
	default:
		tm_buf_add_str(out, "<i>(empty)</i>");
		break;
	}
}

static void put_kvlist(struct tm_buf *out, const struct tm_attr *items, size_t n,
		       unsigned depth)
{
	if (depth >= MAX_VALUE_DEPTH) {
		tm_buf_add_str(out, "{…}");
		return;
	}
	tm_buf_add_str(out, "{");
	for (size_t i = 0; i < n; i++) {
		tm_buf_add_str(out, i ? ", " : "");
		tm_html_escape_str(out, items[i].key);
		tm_buf_add_str(out, ": ");
		put_value(out, &items[i].value, depth + 1);
	}
	tm_buf_add_str(out, "}");
}

/* a table of key = value (type); nothing for no attributes */
static void put_attrs(struct tm_buf *out, const char *caption, const struct tm_attrs *a)
{
	if (!a->n && !a->dropped)
		return;
	tm_buf_add_str(out, "<table class=\"kv\">");
	if (*caption || a->dropped) {
		tm_web_printf(out, "<caption>%s", caption);
		if (a->dropped)
			tm_web_printf(out, " <span class=\"muted\">(%" PRIu32 " dropped)</span>",
				   a->dropped);
		tm_buf_add_str(out, "</caption>");
	}
	for (size_t i = 0; i < a->n; i++) {
		tm_buf_add_str(out, "<tr><th scope=\"row\">");
		tm_html_escape_str(out, a->items[i].key);
		tm_buf_add_str(out, "</th><td>= ");
		put_value(out, &a->items[i].value, 0);
		tm_web_printf(out, "</td><td class=\"ty\">%s</td></tr>",
			   value_type_name(a->items[i].value.type));
	}
	tm_buf_add_str(out, "</table>");
}

/*---- one span's details ----*/

static void put_parent(struct tm_buf *out, const struct view *v, size_t i)
{
	const struct tm_span *s = &v->t->spans[i];
	size_t parent = v->tree.parent[i];
	if (!s->has_parent) {
		tm_buf_add_str(out, "none: a root span");
		return;
	}
	if (parent == SIZE_MAX) {
		tm_buf_add_str(out, "<code>");
		put_span_hex(out, s->parent_span_id);
		tm_buf_add_str(out, "</code> (not in this trace)");
		return;
	}
	tm_buf_add_str(out, "<a href=\"#");
	put_anchor(out, v, parent);
	tm_buf_add_str(out, "\"><code>");
	put_span_hex(out, s->parent_span_id);
	tm_buf_add_str(out, "</code> ");
	tm_html_escape_str(out, v->t->spans[parent].name);
	tm_buf_add_str(out, "</a>");
}

static void put_status(struct tm_buf *out, const struct tm_span *s)
{
	static const char *const names[] = { "unset", "ok", "<span class=\"eb\">error</span>" };
	if (s->status_code < 3)
		tm_buf_add_str(out, names[s->status_code]);
	else
		tm_web_printf(out, "code %u", s->status_code);
	if (s->status_message.len) {
		tm_buf_add_str(out, ": ");
		put_text_capped(out, s->status_message, MAX_TEXT_BYTES);
	}
}

static void put_resource_ref(struct tm_buf *out, const struct view *v, size_t i)
{
	size_t r = v->res_of[i];
	tm_buf_add_str(out, "<dt>resource</dt><dd>");
	if (r == SIZE_MAX)
		tm_buf_add_str(out, "none");
	else if (v->lists_resources)
		tm_web_printf(out, "<a href=\"#res-%zu\">resource %zu</a>", r + 1, r + 1);
	else
		tm_web_printf(out, "resource %zu, below", r + 1);
	tm_buf_add_str(out, "</dd>");
}

/* the facts of span i as a list of terms */
static void put_span_facts(struct tm_buf *out, const struct view *v, size_t i)
{
	const struct tm_span *s = &v->t->spans[i];
	tm_buf_add_str(out, "<dl class=\"facts\"><dt>span ID</dt><dd><code>");
	put_span_hex(out, s->span_id);
	tm_buf_add_str(out, "</code></dd><dt>parent</dt><dd>");
	put_parent(out, v, i);
	tm_buf_add_str(out, "</dd><dt>service</dt><dd>");
	put_service(out, tm_span_service(s));
	const char *kind = tm_span_kind_name(s->kind);
	tm_web_printf(out, "</dd><dt>kind</dt><dd>%s</dd><dt>start</dt><dd>",
		   *kind ? kind : s->kind ? "(unknown kind)" : "unspecified");
	put_offset(out, s->start_ns, v->t0_ns);
	tm_buf_add_str(out, " from the trace's start</dd><dt>duration</dt><dd>");
	put_dur(out, span_dur(s));
	tm_buf_add_str(out, "</dd><dt>self time</dt><dd>");
	put_dur(out, v->cp.self_ns[i]);
	tm_buf_add_str(out, "</dd><dt>critical path</dt><dd>");
	if (v->cp.path_ns[i]) {
		tm_buf_add_str(out, "<span class=\"cpm\">◆ on critical path</span> for ");
		put_dur(out, v->cp.path_ns[i]);
	} else {
		tm_buf_add_str(out, "not on it");
	}
	tm_buf_add_str(out, "</dd><dt>status</dt><dd>");
	put_status(out, s);
	tm_buf_add_str(out, "</dd>");
	put_resource_ref(out, v, i);
	if (s->scope && (s->scope->name.len || s->scope->version.len)) {
		tm_buf_add_str(out, "<dt>scope</dt><dd>");
		tm_html_escape_str(out, s->scope->name);
		tm_buf_add_str(out, " ");
		tm_html_escape_str(out, s->scope->version);
		tm_buf_add_str(out, "</dd>");
	}
	if (s->trace_state.len) {
		tm_buf_add_str(out, "<dt>trace state</dt><dd><code>");
		put_text_capped(out, s->trace_state, MAX_TEXT_BYTES);
		tm_buf_add_str(out, "</code></dd>");
	}
	tm_buf_add_str(out, "</dl>");
}

static void put_events(struct tm_buf *out, const struct tm_span *s)
{
	if (!s->n_events && !s->dropped_events)
		return;
	tm_buf_add_str(out, "<table class=\"kv\"><caption>Events");
	if (s->dropped_events)
		tm_web_printf(out, " <span class=\"muted\">(%" PRIu32 " dropped)</span>",
			   s->dropped_events);
	tm_buf_add_str(out, "</caption><tr><th>after span start</th><th>name</th>"
			    "<th>attributes</th></tr>");
	for (size_t k = 0; k < s->n_events; k++) {
		const struct tm_event *e = &s->events[k];
		tm_buf_add_str(out, "<tr><td class=\"n\">");
		put_offset(out, e->time_ns, s->start_ns);
		tm_buf_add_str(out, "</td><td>");
		tm_html_escape_str(out, e->name);
		tm_buf_add_str(out, "</td><td>");
		put_attrs(out, "", &e->attrs);
		tm_buf_add_str(out, "</td></tr>");
	}
	tm_buf_add_str(out, "</table>");
}

/* the trace and span a link names, each a link when this page or another
 * trace's page can show it */
static void put_link_target(struct tm_buf *out, const struct view *v, const struct tm_link *l)
{
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(l->trace_id, TM_TRACE_ID_LEN, hex);
	if (!memcmp(l->trace_id, v->t->trace_id, TM_TRACE_ID_LEN)) {
		size_t k = find_id(v, l->span_id);
		tm_buf_add_str(out, "this trace</td><td>");
		if (k != SIZE_MAX) {
			tm_buf_add_str(out, "<a href=\"#");
			put_anchor(out, v, v->ids[k].span);
			tm_buf_add_str(out, "\">");
		}
		tm_buf_add_str(out, "<code>");
		put_span_hex(out, l->span_id);
		tm_buf_add_str(out, k != SIZE_MAX ? "</code></a>" : "</code> (not in this trace)");
		return;
	}
	tm_buf_add_str(out, "<a href=\"");
	tm_web_href(out, v->c, TM_LINK_TRACE, (struct tm_str){ hex, strlen(hex) },
		    (struct tm_str){ "", 0 });
	tm_web_printf(out, "\"><code>%s</code></a></td><td><code>", hex);
	put_span_hex(out, l->span_id);
	tm_buf_add_str(out, "</code>");
}

static void put_links(struct tm_buf *out, const struct view *v, const struct tm_span *s)
{
	if (!s->n_links && !s->dropped_links)
		return;
	tm_buf_add_str(out, "<table class=\"kv\"><caption>Links");
	if (s->dropped_links)
		tm_web_printf(out, " <span class=\"muted\">(%" PRIu32 " dropped)</span>",
			   s->dropped_links);
	tm_buf_add_str(out, "</caption><tr><th>trace</th><th>span</th><th>attributes</th></tr>");
	for (size_t k = 0; k < s->n_links; k++) {
		const struct tm_link *l = &s->links[k];
		tm_buf_add_str(out, "<tr><td>");
		put_link_target(out, v, l);
		tm_buf_add_str(out, "</td><td>");
		if (l->trace_state.len) {
			tm_buf_add_str(out, "trace state <code>");
			put_text_capped(out, l->trace_state, MAX_TEXT_BYTES);
			tm_buf_add_str(out, "</code>");
		}
		put_attrs(out, "", &l->attrs);
		tm_buf_add_str(out, "</td></tr>");
	}
	tm_buf_add_str(out, "</table>");
}

static void put_span_details(struct tm_buf *out, const struct view *v, size_t i)
{
	const struct tm_span *s = &v->t->spans[i];
	put_span_facts(out, v, i);
	put_attrs(out, "Attributes", &s->attrs);
	put_events(out, s);
	put_links(out, v, s);
	if (s->scope)
		put_attrs(out, "Scope attributes", &s->scope->attrs);
	if (s->resource && !v->lists_resources)
		put_attrs(out, "Resource attributes", &s->resource->attrs);
}

/*---- the head of the page ----*/

/* Jaeger JSON, OTLP/JSON and the critical path, from the JSON API.  An
 * exported site has no API; web/ cannot write the JSON itself (the writers
 * live in server/, above web/), and a data: URI would repeat the trace
 * inside its own page, the largest page of an export, so the page links
 * a sibling file trace-<id>.json: what GET /api/traces/{id} answers
 * (Jaeger JSON, which the Jaeger UI's "JSON File" upload reads).  The
 * export writes it next to trace-<id>.html. */
static void put_downloads(struct tm_buf *out, const struct view *v)
{
	if (v->c->static_site) {
		tm_web_printf(out, "<p>Download: <a href=\"trace-%s.json\" download "
				"type=\"application/json\">the trace as Jaeger JSON</a></p>", v->hex);
		return;
	}
	tm_web_printf(out, "<p>Download: <a href=\"/api/traces/%s\" download=\"trace-%s.json\" "
			"type=\"application/json\">Jaeger JSON</a> &middot; ", v->hex, v->hex);
	tm_web_printf(out, "<a href=\"/api/v3/traces/%s\" download=\"trace-%s.otlp.json\" "
			"type=\"application/json\">OTLP/JSON</a> &middot; ", v->hex, v->hex);
	tm_web_printf(out, "<a href=\"/api/traces/%s/critical-path\" type=\"application/json\">"
			"critical path and self times (JSON)</a></p>", v->hex);
}

static void put_services_list(struct tm_buf *out, const struct view *v)
{
	tm_web_printf(out, "<dt>services</dt><dd>%zu: ", v->n_svcs);
	for (size_t k = 0; k < v->n_svcs; k++) {
		tm_buf_add_str(out, k ? ", " : "");
		put_service(out, v->svcs[k].name);
	}
	tm_buf_add_str(out, "</dd>");
}

static void put_head(struct tm_buf *out, const struct view *v)
{
	const struct tm_trace_summary *sum = &v->t->summary;
	tm_web_printf(out, "<h1>Trace <code>%s</code></h1><dl class=\"facts\"><dt>%s</dt><dd><b>",
		   v->hex, sum->has_root ? "root span" : "first span (no root)");
	put_service(out, sum->root_service);
	tm_buf_add_str(out, "</b>: ");
	tm_html_escape_str(out, sum->root_operation);
	tm_buf_add_str(out, "</dd><dt>start</dt><dd>");
	put_utc(out, v->t0_ns);
	tm_buf_add_str(out, "</dd><dt>duration</dt><dd>");
	put_dur(out, v->duration_ns);
	tm_web_printf(out, "</dd><dt>spans</dt><dd>%zu", v->t->n_spans);
	if (v->t->n_duplicates)
		tm_web_printf(out, " (and %zu identical copies dropped)", v->t->n_duplicates);
	tm_web_printf(out, "</dd><dt>errors</dt><dd%s>%zu</dd>", v->n_errors ? " class=\"err\"" : "",
		   v->n_errors);
	put_services_list(out, v);
	tm_buf_add_str(out, "</dl>");
	put_downloads(out, v);
	tm_buf_add_str(out, "<nav class=\"toc\" aria-label=\"on this page\"><a href=\"#services\">"
			    "Time by service</a> &middot; <a href=\"#waterfall\">Waterfall</a>");
	if (v->lists_resources)
		tm_buf_add_str(out, " &middot; <a href=\"#resources\">Resources</a>");
	tm_buf_add_str(out, "</nav>");
}

/* the span(s) ?span= names, on top of the page */
static void put_selected(struct tm_buf *out, const struct view *v)
{
	size_t k = find_id(v, v->selected);
	if (k == SIZE_MAX) {
		tm_buf_add_str(out, "<p class=\"err\" role=\"alert\">This trace has no span with ID "
				    "<code>");
		put_span_hex(out, v->selected);
		tm_buf_add_str(out, "</code>.</p>");
		return;
	}
	for (; k < v->t->n_spans && !memcmp(v->ids[k].id, v->selected, TM_SPAN_ID_LEN); k++) {
		size_t i = v->ids[k].span;
		const struct tm_span *s = &v->t->spans[i];
		tm_buf_add_str(out, "<section class=\"selbox\" aria-label=\"selected span\"><h2>Span <b>");
		put_service(out, tm_span_service(s));
		tm_buf_add_str(out, "</b>: ");
		tm_html_escape_str(out, s->name);
		tm_buf_add_str(out, "</h2>");
		put_span_details(out, v, i);
		tm_buf_add_str(out, "<p><a href=\"#");
		put_anchor(out, v, i);
		tm_buf_add_str(out, "\">Show it in the waterfall</a> &middot; <a href=\"");
		tm_web_href(out, v->c, TM_LINK_TRACE, (struct tm_str){ v->hex, strlen(v->hex) },
			    (struct tm_str){ "", 0 });
		tm_buf_add_str(out, "\">Close</a></p></section>");
	}
}

static void put_pct(struct tm_buf *out, uint64_t part, uint64_t whole)
{
	tm_web_printf(out, "<td class=\"n\">%.1f%%</td>", whole ? 100.0 * (double)part / (double)whole
							     : 0.0);
}

static void put_service_row(struct tm_buf *out, const struct view *v, const struct svc_stat *st,
			    uint64_t all_self_ns)
{
	tm_buf_add_str(out, "<tr><td>");
	if (st->name.len) {
		tm_buf_add_str(out, "<a href=\"");
		tm_web_href(out, v->c, TM_LINK_SERVICE, st->name, (struct tm_str){ "", 0 });
		tm_buf_add_str(out, "\">");
		tm_html_escape_str(out, st->name);
		tm_buf_add_str(out, "</a>");
	} else {
		put_service(out, st->name);
	}
	tm_web_printf(out, "</td><td class=\"n\">%zu</td><td class=\"n%s\">%zu</td><td class=\"n\">",
		   st->spans, st->errors ? " err" : "", st->errors);
	put_dur(out, st->self_ns);
	tm_buf_add_str(out, "</td>");
	put_pct(out, st->self_ns, all_self_ns);
	tm_buf_add_str(out, "<td class=\"n\">");
	put_dur(out, st->path_ns);
	tm_buf_add_str(out, "</td>");
	put_pct(out, st->path_ns, v->duration_ns);
	tm_buf_add_str(out, "</tr>");
}

static int svc_by_self_time(const void *a, const void *b)
{
	const struct svc_stat *x = *(const struct svc_stat *const *)a;
	const struct svc_stat *y = *(const struct svc_stat *const *)b;
	if (x->self_ns != y->self_ns)
		return x->self_ns > y->self_ns ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* per service: spans, errors, self time and critical-path time */
static int put_service_table(struct tm_buf *out, const struct view *v)
{
	const struct svc_stat **rank = tm_arena_alloc(v->c->arena, v->n_svcs * sizeof(*rank));
	if (!rank)
		return -ENOMEM;
	uint64_t all_self_ns = 0;
	for (size_t k = 0; k < v->n_svcs; k++) {
		rank[k] = &v->svcs[k];
		all_self_ns += v->svcs[k].self_ns;
	}
	qsort(rank, v->n_svcs, sizeof(*rank), svc_by_self_time);
	tm_buf_add_str(out, "<h2 id=\"services\">Time by service</h2><table class=\"svc\">"
			    "<caption class=\"muted\">Self time: a span's duration less the time "
			    "its children ran. Critical path: the chain of work that set the "
			    "trace's duration.</caption><tr><th>service</th><th class=\"n\">spans</th>"
			    "<th class=\"n\">errors</th><th class=\"n\">self time</th>"
			    "<th class=\"n\">% of all self time</th><th class=\"n\">on critical path"
			    "</th><th class=\"n\">% of trace duration</th></tr>");
	for (size_t k = 0; k < v->n_svcs; k++)
		put_service_row(out, v, rank[k], all_self_ns);
	tm_buf_add_str(out, "</table>");
	return 0;
}

/*---- the waterfall ----*/

static void put_axis(struct tm_buf *out, const struct view *v)
{
	tm_buf_add_str(out, "<div class=\"g ax\" aria-hidden=\"true\"><span class=\"nm\">service: "
			    "operation</span><span class=\"du\">duration</span><span class=\"tk\">");
	for (unsigned q = 0; q <= 4; q++) {
		tm_web_printf(out, "<span style=\"%s:%s\">", q == 4 ? "right" : "left",
			   (const char *[]){ "0", "25%", "50%", "75%", "0" }[q]);
		put_dur(out, v->total_ns * q / 4);
		tm_buf_add_str(out, "</span>");
	}
	tm_buf_add_str(out, "</span></div>");
}

/* the name cell: service and operation, then what marks the span */
static void put_name_cell(struct tm_buf *out, const struct view *v, size_t i, unsigned depth)
{
	const struct tm_span *s = &v->t->spans[i];
	int is_link = !v->is_inline && !v->c->static_site;
	tm_buf_add_str(out, "<span class=\"nm\">");
	if (is_link) {
		tm_buf_add_str(out, "<a class=\"sn\" href=\"?span=");
		put_span_hex(out, s->span_id);
		tm_buf_add_str(out, "\"><b>");
	} else {
		tm_buf_add_str(out, "<span class=\"sn\"><b>");
	}
	put_service(out, v->svcs[v->svc_of[i]].name);
	tm_buf_add_str(out, "</b>: ");
	tm_html_escape_str(out, s->name);
	tm_buf_add_str(out, is_link ? "</a>" : "</span>");
	/* deep rows keep their width for the name: short markers, the words
	 * in titles and in text only screen readers get */
	if (depth > MAX_INDENT)
		tm_web_printf(out, "<span class=\"muted\" title=\"depth %u\">&#8627;%u</span>", depth,
			   depth);
	if (s->status_code == TM_STATUS_ERROR) {
		tm_buf_add_str(out, "<span class=\"eb\">error</span>");
		if (s->status_message.len) {
			tm_buf_add_str(out, "<span class=\"em\">");
			put_text_capped(out, s->status_message, MAX_ROW_MESSAGE_BYTES);
			tm_buf_add_str(out, "</span>");
		}
	}
	if (v->cp.path_ns[i]) {
		tm_buf_add_str(out, "<span class=\"cpm\">◆<span class=\"vh\"> on critical path ");
		put_dur(out, v->cp.path_ns[i]);
		tm_buf_add_str(out, "</span></span>");
	}
	tm_buf_add_str(out, "</span>");
}

/* name, duration and the bar on the trace's time axis */
static void put_cells(struct tm_buf *out, const struct view *v, size_t i, unsigned depth)
{
	const struct tm_span *s = &v->t->spans[i];
	uint64_t dur = span_dur(s);
	put_name_cell(out, v, i, depth);
	tm_buf_add_str(out, "<span class=\"du\">");
	put_dur(out, dur);
	tm_web_printf(out, "</span><span class=\"tk\" style=\"--l:%.2f%%;--w:%.2f%%\"></span>",
		   100.0 * (double)(s->start_ns - v->t0_ns) / (double)v->total_ns,
		   100.0 * (double)dur / (double)v->total_ns);
}

static int is_selected(const struct view *v, size_t i)
{
	return v->selected && !memcmp(v->t->spans[i].span_id, v->selected, TM_SPAN_ID_LEN);
}

/* one row: the toggle of its subtree (script only), then either a
 * <details> whose summary is the bar, or the bar alone.  The row's style
 * holds its depth (--d), for the indentation and for the script. */
static void put_row(struct tm_buf *out, const struct view *v, size_t pos)
{
	size_t i = v->tree.order[pos];
	unsigned depth = v->tree.depth[i];
	int has_children = pos + 1 < v->tree.n && v->tree.depth[v->tree.order[pos + 1]] > depth;
	int is_error = v->t->spans[i].status_code == TM_STATUS_ERROR;
	tm_web_printf(out, "<div class=\"r%s%s%s%s\" id=\"", v->is_inline ? "" : " g",
		   is_error ? " e" : "", v->cp.path_ns[i] ? " cp" : "", is_selected(v, i) ? " sel" : "");
	put_anchor(out, v, i);
	if (depth)
		tm_web_printf(out, "\" style=\"--d:%u", depth);
	tm_buf_add_str(out, "\">");
	if (has_children)
		tm_buf_add_str(out, "<button class=\"tg\" aria-expanded=\"true\" "
				    "title=\"subtree\">▾</button>");
	if (v->is_inline) {
		tm_buf_add_str(out, is_selected(v, i) ? "<details open><summary class=\"g\">"
						      : "<details><summary class=\"g\">");
		put_cells(out, v, i, depth);
		tm_buf_add_str(out, "</summary><div class=\"sd\">");
		put_span_details(out, v, i);
		tm_buf_add_str(out, "</div></details></div>");
	} else {
		put_cells(out, v, i, depth);
		tm_buf_add_str(out, "</div>");
	}
}

static void put_waterfall(struct tm_buf *out, const struct view *v)
{
	tm_buf_add_str(out, "<h2 id=\"waterfall\">Waterfall</h2><p class=\"muted\">"
			    "<span class=\"cpm\">◆ on critical path</span> and the time the span "
			    "spent on it; <span class=\"eb\">error</span> marks a span whose status "
			    "is an error. ");
	if (v->is_inline)
		tm_buf_add_str(out, "Select a span for its attributes, events and links.");
	else if (!v->c->static_site)
		tm_web_printf(out, "This trace has %zu spans, too many to carry every span's details: "
				"follow a span's name for them.", v->t->n_spans);
	else
		tm_web_printf(out, "This trace has %zu spans, too many to carry every span's details "
				"here: they are in <a href=\"trace-%s.json\">trace-%s.json</a>.",
			   v->t->n_spans, v->hex, v->hex);
	tm_buf_add_str(out, "</p><p class=\"jsonly\"><button type=\"button\" data-all=\"0\">"
			    "Collapse all</button> <button type=\"button\" data-all=\"1\">"
			    "Expand all</button></p><div id=\"wf\">");
	put_axis(out, v);
	for (size_t pos = 0; pos < v->tree.n; pos++)
		put_row(out, v, pos);
	tm_buf_add_str(out, "</div>");
}

static void put_resources(struct tm_buf *out, const struct view *v)
{
	if (!v->lists_resources)
		return;
	tm_buf_add_str(out, "<h2 id=\"resources\">Resources</h2>");
	for (size_t r = 0; r < v->n_res; r++) {
		const struct tm_resource *res = v->res[r];
		const struct tm_str *svc = tm_attrs_get_str(&res->attrs, "service.name");
		tm_web_printf(out, "<h3 id=\"res-%zu\">Resource %zu: ", r + 1, r + 1);
		put_service(out, svc ? *svc : (struct tm_str){ "", 0 });
		tm_buf_add_str(out, "</h3>");
		put_attrs(out, "Attributes", &res->attrs);
		if (res->schema_url.len) {
			tm_buf_add_str(out, "<p>schema <code>");
			put_text_capped(out, res->schema_url, MAX_TEXT_BYTES);
			tm_buf_add_str(out, "</code></p>");
		}
	}
}

/*---- style and script ----*/

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define INDENT(extra) "calc(min(var(--d,0)," STRINGIFY(MAX_INDENT) ")*.9em" extra ")"

/* the waterfall's share of the stylesheet; colours always come with a
 * text or shape cue (the error badge, ◆).  A bar is the ::after of its
 * track, placed by the track's --l and --w. */
static const char TRACE_STYLE[] =
	"<style>"
	".facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em;margin:0 0 .6em}"
	".facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}"
	".toc{margin:.4em 0}.jsonly{display:none}.js .jsonly{display:block}"
	".svc caption,.kv caption{text-align:left;caption-side:top;padding:4px 0}"
	".kv{margin:.3em 0;font-size:13px}.kv th{color:var(--fg);font-weight:600}"
	".kv td{overflow-wrap:anywhere}.ty{color:var(--muted);font-size:11px}"
	"#wf{font-size:13px;border-top:1px solid var(--line)}"
	".r{position:relative;border-bottom:1px solid #f0f2f5;content-visibility:auto;"
	"contain-intrinsic-size:auto 23px}.r[hidden]{display:none}"
	".g{display:grid;grid-template-columns:minmax(0,2fr) 6em minmax(0,3fr);"
	"align-items:center;min-height:22px}"
	"summary.g{list-style:none;cursor:pointer}summary.g::-webkit-details-marker{display:none}"
	".nm{display:flex;gap:.4em;align-items:center;min-width:0;white-space:nowrap;"
	"padding-left:" INDENT(" + 1.5em") "}"
	".sn{overflow:hidden;text-overflow:ellipsis;min-width:0;color:inherit}"
	".eb,.cpm,.em{flex:none;font-size:11px;padding:0 4px;border-radius:3px}"
	".eb{background:var(--err);color:#fff}.em{color:var(--err);flex:0 1 auto;"
	"overflow:hidden;text-overflow:ellipsis}"
	".cpm{border:1px solid var(--warn);color:#7a5200;background:#fff6e0}"
	".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
	".du{text-align:right;padding-right:.6em;font-variant-numeric:tabular-nums}"
	".tk{position:relative;height:22px;background:repeating-linear-gradient(90deg,"
	"transparent 0 calc(25% - 1px),var(--line) calc(25% - 1px) 25%)}"
	".tk::after{content:'';position:absolute;top:6px;height:10px;min-width:1px;"
	"left:var(--l);width:var(--w);background:var(--accent)}"
	".e .tk::after{background:var(--err)}"
	".cp .tk::after{outline:2px solid var(--warn);outline-offset:1px}"
	".e{box-shadow:inset 3px 0 var(--err)}.sel{background:#fff8e6}"
	".ax{color:var(--muted);font-size:11px}.ax .tk{background:none}.ax .tk::after{content:none}"
	".ax .tk span{position:absolute;top:4px}"
	".tg{display:none;position:absolute;left:" INDENT("") ";top:1px;width:1.4em;z-index:1;"
	"padding:0;border:0;background:none;cursor:pointer;font-size:13px}"
	".js .tg{display:block}.tg[aria-expanded=false]{transform:rotate(-90deg)}"
	".sd{padding:.3em 1em .8em " INDENT(" + 1.5em") ";background:#fafbfc}"
	".selbox{border:1px solid var(--warn);padding:.2em 1em;margin:1em 0;background:#fffcf3}"
	"</style>";

/* collapsing subtrees (the rows after a row, deeper than it), collapse
 * and expand all, the full name on hover; the page works without it */
static const char TRACE_SCRIPT[] =
	"<script>(function(){var w=document.getElementById('wf');if(!w)return;"
	"function dp(r){return parseInt(r.style.getPropertyValue('--d'))||0}"
	"function tg(r){return r.querySelector(':scope>.tg')}"
	"function isOpen(r){var b=tg(r);return !b||b.getAttribute('aria-expanded')!=='false'}"
	"function set(r,o){var b=tg(r);if(b)b.setAttribute('aria-expanded',o?'true':'false')}"
	"function toggle(r){var d=dp(r),o=!isOpen(r),skip=1/0,n,nd;set(r,o);"
	"for(n=r.nextElementSibling;n&&dp(n)>d;n=n.nextElementSibling){"
	"if(!o){n.hidden=true;continue}nd=dp(n);if(nd>skip)continue;skip=1/0;n.hidden=false;"
	"if(!isOpen(n))skip=nd}}"
	"function all(o){[].forEach.call(w.querySelectorAll('.r'),function(r){set(r,o);"
	"if(dp(r)>0)r.hidden=!o})}"
	"w.addEventListener('click',function(e){var b=e.target.closest('.tg');"
	"if(b){e.preventDefault();toggle(b.parentNode)}});"
	"document.addEventListener('click',function(e){var a=e.target.closest('[data-all]');"
	"if(a)all(a.getAttribute('data-all')==='1')});"
	"addEventListener('hashchange',function(){var t=document.getElementById("
	"location.hash.slice(1));if(t&&t.hidden)all(true)});"
	"w.addEventListener('mouseover',function(e){var s=e.target.closest('.sn');"
	"if(s&&!s.title)s.title=s.textContent})})();</script>";

/*---- the page ----*/

static int build_view(struct view *v, struct tm_web_ctx *c, const struct tm_trace *t)
{
	v->c = c;
	v->t = t;
	tm_id_to_hex(t->trace_id, TM_TRACE_ID_LEN, v->hex);
	v->t0_ns = t->summary.start_ns;
	v->duration_ns = t->summary.end_ns > t->summary.start_ns
				 ? t->summary.end_ns - t->summary.start_ns : 0;
	v->total_ns = v->duration_ns ? v->duration_ns : 1;
	int rc = tm_trace_tree_build(t, c->arena, &v->tree);
	if (!rc)
		rc = tm_cp_analyze(t, &v->tree, c->arena, &v->cp);
	if (!rc)
		rc = index_ids(v);
	if (!rc)
		rc = group_services(v);
	if (!rc)
		rc = number_resources(v);
	v->is_inline = details_fit_inline(t);
	v->lists_resources = v->n_res <= MAX_LISTED_RESOURCES;
	return rc;
}

static void page_title(const struct view *v, char *title, size_t size)
{
	struct tm_str svc = v->t->summary.root_service, op = v->t->summary.root_operation;
	snprintf(title, size, "%.*s: %.*s (trace %.8s)", (int)utf8_prefix(svc, 60), svc.ptr,
		 (int)utf8_prefix(op, 100), op.ptr, v->hex);
}

static int trace_page_generic(struct tm_buf *out, struct tm_web_ctx *c,
			      const uint8_t trace_id[TM_TRACE_ID_LEN],
			      const uint8_t *span_id)
{
	struct tm_trace trace;
	int rc = tm_store_reader_trace(c->rd, trace_id, c->arena, &trace);
	if (rc)
		return rc;
	if (!trace.n_spans)
		return -ENOENT;
	struct view v = { .selected = span_id };
	rc = build_view(&v, c, &trace);
	if (rc)
		return rc;
	char title[256];
	page_title(&v, title, sizeof(title));
	tm_web_page_begin(out, c, title, NULL);
	tm_buf_add_str(out, TRACE_STYLE);
	put_head(out, &v);
	if (span_id)
		put_selected(out, &v);
	rc = put_service_table(out, &v);
	if (rc)
		return rc;
	put_waterfall(out, &v);
	put_resources(out, &v);
	tm_buf_add_str(out, TRACE_SCRIPT);
	tm_web_page_end(out, c);
	return out->failed ? -ENOMEM : 0;
}

int tm_web_trace_page(struct tm_buf *out, struct tm_web_ctx *c,
		      const uint8_t trace_id[TM_TRACE_ID_LEN])
{
	return trace_page_generic(out, c, trace_id, NULL);
}

int tm_web_trace_span_page(struct tm_buf *out, struct tm_web_ctx *c,
			   const uint8_t trace_id[TM_TRACE_ID_LEN],
			   const uint8_t span_id[TM_SPAN_ID_LEN])
{
	return trace_page_generic(out, c, trace_id, span_id);
}
