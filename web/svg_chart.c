/* svg_chart.c - inline SVG charts (latency histogram, trace scatter) and
 * the formatting the pages share. */
#include "svg_chart.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* the stylesheet's colours; SVG presentation attributes cannot read CSS
 * variables, so they are repeated here */
#define COLOR_BAR "#2f62c9"
#define COLOR_ERR "#c62f2f"
#define COLOR_AXIS "#5b6576"
#define COLOR_GRID "#e3e7ee"
#define COLOR_MARK "#c98a12"

/* the plot area inside a chart of CHART_W x CHART_H */
#define CHART_W 720
#define CHART_H 240
#define PLOT_X0 64.0
#define PLOT_X1 (CHART_W - 16.0)
#define PLOT_Y0 14.0
#define PLOT_Y1 (CHART_H - 46.0)

/*---- formatting ----*/

void tm_web_printf(struct tm_buf *out, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		tm_buf_add(out, small, (size_t)n);
		return;
	}
	unsigned char *p = tm_buf_reserve(out, (size_t)n + 1);
	if (!p)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}

void tm_web_fmt_duration(char *buf, size_t len, double ns)
{
	static const struct {
		double below, scale;
		const char *unit;
	} units[] = {
		{ 1e3, 1, "ns" }, { 1e6, 1e3, "µs" }, { 1e9, 1e6, "ms" },
		{ 60e9, 1e9, "s" }, { 3600e9, 60e9, "min" }, { INFINITY, 3600e9, "h" },
	};
	if (!(ns > 0)) {
		snprintf(buf, len, "0");
		return;
	}
	size_t i = 0;
	while (ns >= units[i].below)
		i++;
	double v = ns / units[i].scale;
	/* 999.6 µs would print as "1000 µs": say 1.00 ms instead */
	if (v >= 999.5 && units[i].below != INFINITY && units[i + 1].scale / units[i].scale == 1e3) {
		v /= 1e3;
		i++;
	}
	int decimals = i == 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
	snprintf(buf, len, "%.*f %s", decimals, v, units[i].unit);
}

void tm_web_fmt_time(char *buf, size_t len, uint64_t ns, int has_seconds)
{
	time_t t = (time_t)((uint64_t)(ns / 1000000000ull));
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, has_seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
}

void tm_web_fmt_go_duration(char *buf, size_t len, uint64_t ns)
{
	if (!ns)
		snprintf(buf, len, "0");
	else if (ns % 1000000000ull == 0)
		snprintf(buf, len, "%" PRIu64 "s", (uint64_t)(ns / 1000000000ull));
	else if (ns % 1000000ull == 0)
		snprintf(buf, len, "%" PRIu64 "ms", (uint64_t)(ns / 1000000ull));
	else if (ns % 1000ull == 0)
		snprintf(buf, len, "%" PRIu64 "us", (uint64_t)(ns / 1000ull));
	else
		snprintf(buf, len, "%" PRIu64 "ns", ns);
}

void tm_web_escape_short(struct tm_buf *out, struct tm_str s, size_t max_bytes)
{
	if (s.len <= max_bytes) {
		tm_html_escape(out, s.ptr, s.len);
		return;
	}
	size_t n = max_bytes;
	while (n && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
		n--;   /* not inside a UTF-8 sequence */
	tm_html_escape(out, s.ptr, n);
	tm_buf_add_str(out, "…");
}

void tm_web_window_query(struct tm_buf *out, const struct tm_web_ctx *c,
			 const struct tm_web_window *w, const char *sep)
{
	if ((c && c->static_site) || !w)
		return;
	tm_buf_add_str(out, sep);
	if (w->name && strcmp(w->name, "custom")) {
		tm_buf_add_str(out, "window=");
		tm_html_escape(out, w->name, strlen(w->name));
	} else {
		tm_web_printf(out, "start=%" PRIu64 "&amp;end=%" PRIu64, w->start_ns / 1000,
			      w->end_ns / 1000);
	}
}

void tm_web_trace_link(struct tm_buf *out, const struct tm_web_ctx *c,
		       const uint8_t trace_id[TM_TRACE_ID_LEN], int digits)
{
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(trace_id, TM_TRACE_ID_LEN, hex);
	tm_buf_add_str(out, "<a href=\"");
	tm_web_href(out, c, TM_LINK_TRACE, (struct tm_str){ hex, 2 * TM_TRACE_ID_LEN },
		    (struct tm_str){ "", 0 });
	digits = digits < 1 ? 1 : digits > 32 ? 32 : digits;
	tm_web_printf(out, "\" title=\"trace %s\"><code>%.*s</code></a>", hex, digits, hex);
}

void tm_web_query_arg(struct tm_buf *out, const char *name, struct tm_str value)
{
	static const char hex[] = "0123456789ABCDEF";
	tm_buf_add_str(out, name);
	tm_buf_add(out, "=", 1);
	for (size_t i = 0; i < value.len; i++) {
		unsigned char ch = (unsigned char)value.ptr[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			tm_buf_add(out, &value.ptr[i], 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			tm_buf_add(out, e, 3);
		}
	}
}

static const struct {
	const char *name, *text;
} PRESETS[] = {
	{ "15m", "the last 15 minutes" },
	{ "1h", "the last hour" },
	{ "6h", "the last 6 hours" },
	{ "24h", "the last 24 hours" },
};

void tm_web_window_text(struct tm_buf *out, const struct tm_web_window *w)
{
	char from[32], to[32];
	for (size_t i = 0; w->name && i < sizeof(PRESETS) / sizeof(PRESETS[0]); i++)
		if (!strcmp(w->name, PRESETS[i].name)) {
			tm_web_fmt_time(from, sizeof(from), w->start_ns, 0);
			tm_web_fmt_time(to, sizeof(to), w->end_ns, 0);
			tm_web_printf(out, "%s (%s to %s UTC)", PRESETS[i].text, from,
				      strncmp(from, to, 11) ? to : to + 11);
			return;
		}
	tm_web_fmt_time(from, sizeof(from), w->start_ns, 1);
	tm_web_fmt_time(to, sizeof(to), w->end_ns, 1);
	tm_web_printf(out, "%s to %s UTC", from, to);
}

/* "2026-08-01T10:00:05", what <input type="datetime-local"> shows */
static void datetime_local(char *buf, size_t len, uint64_t ns)
{
	tm_web_fmt_time(buf, len, ns, 1);
	if (strlen(buf) > 10)
		buf[10] = 'T';
}

void tm_web_window_fields(struct tm_buf *out, const struct tm_web_window *w)
{
	int custom = 1;
	tm_buf_add_str(out, "<label>Window <select name=\"window\">");
	for (size_t i = 0; i < sizeof(PRESETS) / sizeof(PRESETS[0]); i++) {
		int on = w->name && !strcmp(w->name, PRESETS[i].name);
		custom &= !on;
		tm_web_printf(out, "<option value=\"%s\"%s>%s</option>", PRESETS[i].name,
			      on ? " selected" : "", PRESETS[i].text);
	}
	tm_web_printf(out, "<option value=\"custom\"%s>custom: start and end</option>"
			   "</select></label> ", custom ? " selected" : "");
	char start[32] = "", end[32] = "";
	if (custom) {
		datetime_local(start, sizeof(start), w->start_ns);
		datetime_local(end, sizeof(end), w->end_ns);
	}
	static const char on_input[] = " oninput=\"this.form.elements.window.value='custom'\"";
	tm_web_printf(out, "<label>Start (UTC) <input type=\"datetime-local\" name=\"start\" "
			   "step=\"1\" value=\"%s\"%s></label> "
			   "<label>End (UTC) <input type=\"datetime-local\" name=\"end\" "
			   "step=\"1\" value=\"%s\"%s></label> ",
		      start, on_input, end, on_input);
}

/*---- axes ----*/

/* a log10 scale from [lo, hi] (log10 of ns) onto pixels [p0, p1] */
struct log_axis {
	double lo, hi;
	double p0, p1;
};

static struct log_axis log_axis_of(double min_ns, double max_ns, double p0, double p1)
{
	double lo = log10(min_ns < 1 ? 1 : min_ns), hi = log10(max_ns < 1 ? 1 : max_ns);
	/* at least half a decade, so that one value still has room around it */
	if (hi - lo < 0.5) {
		double mid = (lo + hi) / 2;
		lo = mid - 0.25;
		hi = mid + 0.25;
	}
	return (struct log_axis){ lo, hi, p0, p1 };
}

static double log_pos(const struct log_axis *a, double ns)
{
	double v = log10(ns < 1 ? 1 : ns);
	return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* stores the round values of a log axis in ticks (at most max): decades,
 * plus 2x and 5x when fewer than three decades fit; returns how many */
static size_t log_ticks(const struct log_axis *a, double *ticks, size_t max)
{
	size_t n = 0;
	int decades = (int)floor(a->hi) - (int)ceil(a->lo) + 1;
	static const double steps[] = { 1, 2, 5 };
	for (int k = (int)floor(a->lo); k <= (int)ceil(a->hi) && n < max; k++)
		for (size_t s = 0; s < (decades < 3 ? 3 : 1) && n < max; s++) {
			double v = steps[s] * pow(10, k);
			double lv = log10(v);
			if (lv >= a->lo - 1e-9 && lv <= a->hi + 1e-9)
				ticks[n++] = v;
		}
	return n;
}

/* a round step so that [0, max] takes about four ticks */
static uint64_t nice_step(uint64_t max)
{
	uint64_t step = 1;
	while (step * 10 <= max / 4 + 1 && step < UINT64_MAX / 10)
		step *= 10;
	if (step * 5 <= (max + 3) / 4)
		return step * 5;
	if (step * 2 <= (max + 3) / 4)
		return step * 2;
	return step;
}

static void svg_begin(struct tm_buf *out, struct tm_str title, const char *desc)
{
	tm_web_printf(out, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
			   "role=\"img\" style=\"max-width:100%%;height:auto\" "
			   "font-family=\"system-ui,sans-serif\" font-size=\"11\"><title>",
		      CHART_W, CHART_H, CHART_W, CHART_H);
	tm_web_escape_short(out, title, 200);
	tm_buf_add_str(out, "</title><desc>");
	tm_buf_add_str(out, desc);
	tm_buf_add_str(out, "</desc>");
}

static void axis_titles(struct tm_buf *out, const char *x_title, const char *y_title)
{
	tm_web_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
			   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>",
		      PLOT_X0, PLOT_Y1, PLOT_X1, PLOT_Y1, COLOR_AXIS, PLOT_X0, PLOT_Y0, PLOT_X0,
		      PLOT_Y1, COLOR_AXIS);
	tm_web_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%s</text>",
		      (PLOT_X0 + PLOT_X1) / 2, CHART_H - 6, COLOR_AXIS, x_title);
	tm_web_printf(out, "<text transform=\"translate(14 %.1f) rotate(-90)\" "
			   "text-anchor=\"middle\" fill=\"%s\">%s</text>",
		      (PLOT_Y0 + PLOT_Y1) / 2, COLOR_AXIS, y_title);
}

/* vertical ticks and labels of a log duration axis along x */
static void x_log_ticks(struct tm_buf *out, const struct log_axis *a)
{
	double ticks[32];
	size_t n = log_ticks(a, ticks, 32);
	for (size_t i = 0; i < n; i++) {
		char label[32];
		double x = log_pos(a, ticks[i]);
		tm_web_fmt_duration(label, sizeof(label), ticks[i]);
		tm_web_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				   "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
				   "text-anchor=\"middle\" fill=\"%s\">%s</text>",
			      x, PLOT_Y0, x, PLOT_Y1 + 4, COLOR_GRID, x, PLOT_Y1 + 16, COLOR_AXIS,
			      label);
	}
}

/* horizontal ticks and labels of a log duration axis along y */
static void y_log_ticks(struct tm_buf *out, const struct log_axis *a)
{
	double ticks[32];
	size_t n = log_ticks(a, ticks, 32);
	for (size_t i = 0; i < n; i++) {
		char label[32];
		double y = log_pos(a, ticks[i]);
		tm_web_fmt_duration(label, sizeof(label), ticks[i]);
		tm_web_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				   "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
				   "text-anchor=\"end\" fill=\"%s\">%s</text>",
			      PLOT_X0 - 4, y, PLOT_X1, y, COLOR_GRID, PLOT_X0 - 6, y + 4, COLOR_AXIS,
			      label);
	}
}

/*---- latency histogram ----*/

struct bins {
	uint64_t count[TM_SVG_HIST_BINS];
	uint64_t most;
};

/* re-bins the histogram's buckets onto the log axis: each bucket goes to
 * the bin of its geometric middle (a bucket is at most 1.6% wide, a bin at
 * least 2.4%, so hardly any bucket straddles two bins) */
static void rebin(const struct tm_hist *h, const struct log_axis *a, struct bins *b)
{
	memset(b, 0, sizeof(*b));
	struct tm_hist_bucket bk;
	size_t pos = 0;
	while (tm_hist_bucket_next(h, &pos, &bk)) {
		double lo = (double)(bk.lo_ns < h->min_ns ? h->min_ns : bk.lo_ns);
		double hi = (double)(bk.hi_ns > h->max_ns ? h->max_ns : bk.hi_ns);
		double mid = sqrt((lo < 1 ? 1 : lo) * (hi < 1 ? 1 : hi));
		double f = (log10(mid < 1 ? 1 : mid) - a->lo) / (a->hi - a->lo);
		long i = (long)(f * TM_SVG_HIST_BINS);
		i = i < 0 ? 0 : i >= TM_SVG_HIST_BINS ? TM_SVG_HIST_BINS - 1 : i;
		b->count[i] += bk.count;
		if (b->count[i] > b->most)
			b->most = b->count[i];
	}
}

static void count_ticks(struct tm_buf *out, uint64_t top)
{
	uint64_t step = nice_step(top);
	for (uint64_t v = 0; v <= top; v += step) {
		double y = PLOT_Y1 - (double)v / (double)top * (PLOT_Y1 - PLOT_Y0);
		tm_web_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				   "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
				   "text-anchor=\"end\" fill=\"%s\">%" PRIu64 "</text>",
			      PLOT_X0 - 4, y, PLOT_X1, y, COLOR_GRID, PLOT_X0 - 6, y + 4, COLOR_AXIS, v);
		if (v > UINT64_MAX - step)
			break;
	}
}

static void hist_bars(struct tm_buf *out, const struct bins *b, const struct log_axis *a,
		      uint64_t top, const char *unit)
{
	double w = (PLOT_X1 - PLOT_X0) / TM_SVG_HIST_BINS;
	double step = (a->hi - a->lo) / TM_SVG_HIST_BINS;
	for (size_t i = 0; i < TM_SVG_HIST_BINS; i++) {
		if (!b->count[i])
			continue;
		char lo[32], hi[32];
		tm_web_fmt_duration(lo, sizeof(lo), pow(10, a->lo + step * (double)i));
		tm_web_fmt_duration(hi, sizeof(hi), pow(10, a->lo + step * (double)(i + 1)));
		double hgt = (double)b->count[i] / (double)top * (PLOT_Y1 - PLOT_Y0);
		if (hgt < 1)
			hgt = 1;   /* one request in a million still shows */
		tm_web_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				   "fill=\"%s\"><title>%s to %s: %" PRIu64 " %s</title></rect>",
			      PLOT_X0 + w * (double)i + 0.5, PLOT_Y1 - hgt, w - 1, hgt, COLOR_BAR, lo,
			      hi, b->count[i], unit);
	}
}

static void hist_marks(struct tm_buf *out, const struct tm_hist *h, const struct log_axis *a)
{
	static const struct {
		const char *name;
		double q;
	} marks[] = { { "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 } };
	for (size_t i = 0; i < 3; i++) {
		uint64_t v = tm_hist_percentile(h, marks[i].q);
		char label[32];
		tm_web_fmt_duration(label, sizeof(label), (double)v);
		double x = log_pos(a, (double)v);
		int at_right = x > PLOT_X1 - 40;   /* the label goes left of its line */
		tm_web_printf(out, "<g><title>%s = %s</title><line x1=\"%.1f\" y1=\"%.1f\" "
				   "x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"4 3\"/>"
				   "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"%s\">%s %s"
				   "</text></g>",
			      marks[i].name, label, x, PLOT_Y0, x, PLOT_Y1, COLOR_MARK,
			      at_right ? x - 3 : x + 3, PLOT_Y0 + 10 + 12 * (double)i, COLOR_MARK,
			      at_right ? "end" : "start", marks[i].name, label);
	}
}

void tm_svg_latency_histogram(struct tm_buf *out, const struct tm_hist *h, struct tm_str title,
			      const char *unit)
{
	if (!h || !tm_hist_count(h)) {
		tm_buf_add_str(out, "<p class=\"muted\">No ");
		tm_buf_add_str(out, unit);
		tm_buf_add_str(out, " in this window, so no latency histogram.</p>");
		return;
	}
	struct log_axis a = log_axis_of((double)h->min_ns, (double)h->max_ns + 1, PLOT_X0, PLOT_X1);
	struct bins b;
	rebin(h, &a, &b);
	uint64_t step = nice_step(b.most);
	uint64_t top = (b.most + step - 1) / step * step;
	svg_begin(out, title, "Bars count how many values fell in each range of duration; "
			      "the duration axis is logarithmic. Dashed lines mark p50, p90, p99.");
	count_ticks(out, top ? top : 1);
	x_log_ticks(out, &a);
	hist_bars(out, &b, &a, top ? top : 1, unit);
	hist_marks(out, h, &a);
	axis_titles(out, "duration (log scale)", unit);
	tm_buf_add_str(out, "</svg>");
}

/*---- trace scatter ----*/

struct time_axis {
	uint64_t lo, hi;   /* ns */
};

static double time_pos(const struct time_axis *t, uint64_t ns)
{
	return PLOT_X0 + (double)(ns - t->lo) / (double)(t->hi - t->lo) * (PLOT_X1 - PLOT_X0);
}

static void x_time_ticks(struct tm_buf *out, const struct time_axis *t)
{
	uint64_t span = t->hi - t->lo;
	for (int i = 0; i <= 4; i++) {
		uint64_t v = t->lo + span / 4 * (uint64_t)i;
		char label[32];
		tm_web_fmt_time(label, sizeof(label), v, span < 600ull * 1000000000ull);
		/* the date only on the first label unless the range spans days */
		const char *shown = label;
		if (i && span < 86400ull * 1000000000ull)
			shown = label + 11;
		double x = time_pos(t, v);
		tm_web_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				   "stroke=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
				   "text-anchor=\"%s\" fill=\"%s\">%s</text>",
			      x, PLOT_Y0, x, PLOT_Y1 + 4, COLOR_GRID, x, PLOT_Y1 + 16,
			      i == 0 ? "start" : i == 4 ? "end" : "middle", COLOR_AXIS, shown);
	}
}

static void scatter_point(struct tm_buf *out, const struct tm_web_ctx *c,
			  const struct tm_svg_trace_point *p, const struct time_axis *t,
			  const struct log_axis *a)
{
	char hex[2 * TM_TRACE_ID_LEN + 1], dur[32], when[32];
	tm_id_to_hex(p->trace_id, TM_TRACE_ID_LEN, hex);
	tm_web_fmt_duration(dur, sizeof(dur), (double)p->duration_ns);
	tm_web_fmt_time(when, sizeof(when), p->start_ns, 1);
	double x = time_pos(t, p->start_ns), y = log_pos(a, (double)p->duration_ns);
	tm_buf_add_str(out, "<a href=\"");
	tm_web_href(out, c, TM_LINK_TRACE, (struct tm_str){ hex, 2 * TM_TRACE_ID_LEN },
		    (struct tm_str){ "", 0 });
	tm_buf_add_str(out, "\"><title>");
	tm_web_escape_short(out, p->root_service, 80);
	tm_buf_add_str(out, ": ");
	tm_web_escape_short(out, p->root_operation, 80);
	tm_web_printf(out, ", %s, started %s UTC", dur, when);
	if (p->n_errors)
		tm_web_printf(out, ", %" PRIu64 " error%s", p->n_errors, p->n_errors == 1 ? "" : "s");
	tm_web_printf(out, " (trace %.16s)</title>", hex);
	/* errors are squares, not only red */
	if (p->n_errors)
		tm_web_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" "
				   "fill=\"%s\"/></a>", x - 4, y - 4, COLOR_ERR);
	else
		tm_web_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" "
				   "fill-opacity=\"0.75\"/></a>", x, y, COLOR_BAR);
}

void tm_svg_trace_scatter(struct tm_buf *out, const struct tm_web_ctx *c,
			  const struct tm_svg_trace_point *pts, size_t n, struct tm_str title)
{
	if (!n)
		return;
	if (n > TM_SVG_MAX_POINTS)
		n = TM_SVG_MAX_POINTS;
	struct time_axis t = { UINT64_MAX, 0 };
	double dmin = INFINITY, dmax = 0;
	for (size_t i = 0; i < n; i++) {
		t.lo = pts[i].start_ns < t.lo ? pts[i].start_ns : t.lo;
		t.hi = pts[i].start_ns > t.hi ? pts[i].start_ns : t.hi;
		double d = (double)pts[i].duration_ns;
		dmin = d < dmin ? d : dmin;
		dmax = d > dmax ? d : dmax;
	}
	/* a little room at both ends, and 30 s either side of a single time */
	uint64_t pad = (t.hi - t.lo) / 40;
	if (pad < 30ull * 1000000000ull && t.hi == t.lo)
		pad = 30ull * 1000000000ull;
	t.lo = t.lo > pad ? t.lo - pad : 0;
	t.hi += pad ? pad : 1;
	struct log_axis a = log_axis_of(dmin / 1.3, dmax * 1.3, PLOT_Y1, PLOT_Y0);
	svg_begin(out, title, "Each point is a trace: across, when it started; up, how long it "
			      "took (logarithmic). Squares are traces with errors. "
			      "Each point links to its trace.");
	y_log_ticks(out, &a);
	x_time_ticks(out, &t);
	axis_titles(out, "trace start (UTC)", "duration (log scale)");
	for (size_t i = 0; i < n; i++)
		scatter_point(out, c, &pts[i], &t, &a);
	tm_web_printf(out, "<g fill=\"%s\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\">ok</text><rect x=\"%.1f\" y=\"%.1f\" "
			   "width=\"8\" height=\"8\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">"
			   "has errors</text></g>",
		      COLOR_AXIS, PLOT_X1 - 120, (double)CHART_H - 10, COLOR_BAR, PLOT_X1 - 112,
		      (double)CHART_H - 6, PLOT_X1 - 84, (double)CHART_H - 14, COLOR_ERR,
		      PLOT_X1 - 72, (double)CHART_H - 6);
	tm_buf_add_str(out, "</svg>");
}
