/* query_params.c - the values of query-API parameters (see query_params.h).
 *
 * The Jaeger tags object is read with our own pull parser (json_reader.h)
 * rather than jansson, because only it hands back a number's text as
 * written: jansson turns "1.50" into the double 1.5. */
#include "query_params.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_reader.h"

#define NS_PER_SEC UINT64_C(1000000000)
#define DURATION_EXAMPLES "(examples: 1.5s, 300ms, 15us)"
#define RFC3339_EXAMPLE "(example: 2026-08-01T10:00:00.000000000Z)"
#define TAGS_EXAMPLE "{\"http.status_code\":\"500\",\"error\":\"true\"}"
/* a value is quoted in messages up to this many bytes */
#define QUOTE_MAX 64
/* Zipkin splits the annotation query with String.split(" and ", 100) */
#define ZIPKIN_MAX_TERMS 100

/*---- messages ----*/

/* writes "invalid value for parameter '<name>': " and the formatted rest. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!errlen)
		return -EINVAL;
	n = snprintf(err, errlen, "invalid value for parameter '%s': ", name ? name : "?");
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int out_of_memory(char *err, size_t errlen, const char *name)
{
	if (errlen)
		snprintf(err, errlen, "out of memory reading parameter '%s'", name ? name : "?");
	return -ENOMEM;
}

/* the length of a prefix of s of at most max bytes that does not end
 * inside a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* writes text into out as "...": quotes and backslashes escaped, control
 * bytes as \xNN, cut after QUOTE_MAX bytes with an ellipsis, so a hostile
 * value cannot forge or flood a message. */
static const char *quote(char out[4 * QUOTE_MAX + 8], const char *text)
{
	size_t len = strlen(text), n = utf8_prefix(text, len, QUOTE_MAX), o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)sprintf(out + o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (n < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/*---- Go durations ----*/

struct duration_unit {
	const char *name;
	uint64_t ns;
};

static const struct duration_unit duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xC2\xB5s", 1000 },   /* U+00B5 MICRO SIGN */
	{ "\xCE\xBCs", 1000 },   /* U+03BC GREEK SMALL LETTER MU */
	{ "ms", 1000000 },
	{ "s", NS_PER_SEC },
	{ "m", 60 * NS_PER_SEC },
	{ "h", 3600 * NS_PER_SEC },
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's leadingInt: digits into *x; -1 when the value passes 2^63. */
static int leading_int(const char **p, uint64_t *x)
{
	*x = 0;
	for (; is_digit(**p); (*p)++) {
		if (*x > (UINT64_C(1) << 63) / 10)
			return -1;
		*x = *x * 10 + (uint64_t)(**p - '0');
		if (*x > UINT64_C(1) << 63)
			return -1;
	}
	return 0;
}

/* Go's leadingFraction: digits into *x and *scale; digits past what fits
 * are read but no longer add precision. */
static void leading_fraction(const char **p, uint64_t *x, double *scale)
{
	int is_overflow = 0;

	*x = 0;
	*scale = 1;
	for (; is_digit(**p); (*p)++) {
		if (is_overflow)
			continue;
		if (*x > (INT64_MAX) / 10) {
			is_overflow = 1;
			continue;
		}
		uint64_t y = *x * 10 + (uint64_t)(**p - '0');
		if (y > UINT64_C(1) << 63) {
			is_overflow = 1;
			continue;
		}
		*x = y;
		*scale *= 10;
	}
}

static const struct duration_unit *find_unit(const char *u, size_t len)
{
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strlen(duration_units[i].name) == len && !memcmp(duration_units[i].name, u, len))
			return &duration_units[i];
	return NULL;
}

/* why a duration failed, for the message */
enum duration_problem {
	DUR_SYNTAX,
	DUR_NO_UNIT,
	DUR_BAD_UNIT,
	DUR_TOO_LONG,
};

/* one "<number><unit>" term of a duration at *p, added to *total (ns). */
static int duration_term(const char **p, uint64_t *total, enum duration_problem *why,
			 const char **unit, size_t *unit_len)
{
	const char *s = *p, *start;
	uint64_t v, f = 0;
	double scale = 1;
	int has_int, has_frac = 0;

	*why = DUR_SYNTAX;
	if (!(*s == '.' || is_digit(*s)))
		return -1;
	start = s;
	if (leading_int(&s, &v) < 0) {
		*why = DUR_TOO_LONG;
		return -1;
	}
	has_int = s != start;
	if (*s == '.') {
		start = ++s;
		leading_fraction(&s, &f, &scale);
		has_frac = s != start;
	}
	if (!has_int && !has_frac)
		return -1;
	*unit = s;
	while (*s && *s != '.' && !is_digit(*s))
		s++;
	*unit_len = (size_t)(s - *unit);
	const struct duration_unit *u = find_unit(*unit, *unit_len);
	*why = *unit_len == 0 ? DUR_NO_UNIT : DUR_BAD_UNIT;
	if (!u)
		return -1;
	*why = DUR_TOO_LONG;
	if (v > (UINT64_C(1) << 63) / u->ns)
		return -1;
	v *= u->ns;
	if (f > 0) {
		/* as Go: a double is exact enough, f * unit / scale <= 3.6e12 */
		v += (uint64_t)((double)f * ((double)u->ns / scale));
		if (v > UINT64_C(1) << 63)
			return -1;
	}
	*total += v;
	if (*total > UINT64_C(1) << 63)
		return -1;
	*p = s;
	return 0;
}

static int duration_fail(const char *name, const char *text, enum duration_problem why,
			 const char *unit, size_t unit_len, char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8], uq[4 * QUOTE_MAX + 8], ubuf[QUOTE_MAX + 1];

	switch (why) {
	case DUR_NO_UNIT:
		return fail(err, errlen, name, "%s is not a duration: a unit is missing "
			    DURATION_EXAMPLES, quote(q, text));
	case DUR_BAD_UNIT:
		snprintf(ubuf, sizeof(ubuf), "%.*s", (int)(unit_len < QUOTE_MAX ? unit_len : QUOTE_MAX),
			 unit);
		return fail(err, errlen, name, "%s is not a duration: unknown unit %s "
			    "(units: ns, us, \xC2\xB5s, ms, s, m, h)", quote(q, text), quote(uq, ubuf));
	case DUR_TOO_LONG:
		return fail(err, errlen, name, "%s is too long a duration (at most 2562047h47m16.854775807s)",
			    quote(q, text));
	default:
		return fail(err, errlen, name, "%s is not a duration " DURATION_EXAMPLES,
			    quote(q, text));
	}
}

int tm_qp_duration(const char *name, const char *text, int64_t *out_ns, char *err,
		   size_t errlen)
{
	const char *p = text ? text : "", *unit = NULL;
	uint64_t total = 0;
	size_t unit_len = 0;
	int is_negative = 0;
	enum duration_problem why = DUR_SYNTAX;
	char q[4 * QUOTE_MAX + 8];

	if (*p == '-' || *p == '+')
		is_negative = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out_ns = 0;
		return 0;
	}
	if (!*p)
		return duration_fail(name, text ? text : "", why, NULL, 0, err, errlen);
	while (*p)
		if (duration_term(&p, &total, &why, &unit, &unit_len) < 0)
			return duration_fail(name, text, why, unit, unit_len, err, errlen);
	if (is_negative && total > 0)
		return fail(err, errlen, name, "%s is negative", quote(q, text));
	if (total > INT64_MAX)
		return duration_fail(name, text, DUR_TOO_LONG, NULL, 0, err, errlen);
	*out_ns = (int64_t)total;
	return 0;
}

/*---- RFC 3339 ----*/

/* reads exactly n digits at *p. */
static int fixed_digits(const char **p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return -1;
		*out = *out * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int expect_char(const char **p, char a, char b)
{
	if (**p != a && **p != b)
		return -1;
	(*p)++;
	return 0;
}

static int is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil); no timegm(), no time zone. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct civil_time {
	int year, month, day, hour, minute, second;
	uint32_t frac_ns;
	int offset_s;   /* east of UTC */
};

/* the fields of an RFC 3339 date-time; NULL or the part that is wrong. */
static const char *rfc3339_fields(const char *p, struct civil_time *t)
{
	int oh, om, n = 0;

	if (fixed_digits(&p, 4, &t->year) || expect_char(&p, '-', '-') ||
	    fixed_digits(&p, 2, &t->month) || expect_char(&p, '-', '-') ||
	    fixed_digits(&p, 2, &t->day))
		return "the date is not YYYY-MM-DD";
	if (expect_char(&p, 'T', 't'))
		return "'T' expected after the date";
	if (fixed_digits(&p, 2, &t->hour) || expect_char(&p, ':', ':') ||
	    fixed_digits(&p, 2, &t->minute) || expect_char(&p, ':', ':') ||
	    fixed_digits(&p, 2, &t->second))
		return "the time is not hh:mm:ss";
	t->frac_ns = 0;
	if (*p == '.') {
		for (p++; is_digit(*p); p++, n++)
			if (n < 9)
				t->frac_ns = t->frac_ns * 10 + (uint32_t)(*p - '0');
		if (n == 0 || n > 9)
			return "the fraction of a second must have 1 to 9 digits";
		for (; n < 9; n++)
			t->frac_ns *= 10;
	}
	t->offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (fixed_digits(&p, 2, &oh) || expect_char(&p, ':', ':') ||
		    fixed_digits(&p, 2, &om) || oh > 23 || om > 59)
			return "the offset is not +hh:mm";
		t->offset_s = sign * (oh * 3600 + om * 60);
	} else {
		return "'Z' or an offset like +02:00 expected after the time";
	}
	return *p ? "unexpected text after the time" : NULL;
}

static const char *civil_range_problem(const struct civil_time *t)
{
	if (t->month < 1 || t->month > 12)
		return "month out of range";
	if (t->day < 1 || t->day > days_in_month(t->year, t->month))
		return "day out of range";
	if (t->hour > 23)
		return "hour out of range";
	if (t->minute > 59)
		return "minute out of range";
	if (t->second > 59)
		return "second out of range";
	return NULL;
}

int tm_qp_rfc3339(const char *name, const char *text, uint64_t *out_ns, char *err,
		  size_t errlen)
{
	struct civil_time t;
	char q[4 * QUOTE_MAX + 8];
	const char *why;

	text = text ? text : "";
	why = rfc3339_fields(text, &t);
	if (!why)
		why = civil_range_problem(&t);
	if (why)
		return fail(err, errlen, name, "%s is not an RFC 3339 time: %s " RFC3339_EXAMPLE,
			    quote(q, text), why);
	int64_t secs = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 +
		       t.minute * 60 + t.second - t.offset_s;
	if (secs < 0)
		return fail(err, errlen, name, "%s is before 1970", quote(q, text));
	if ((uint64_t)secs > (UINT64_MAX - t.frac_ns) / NS_PER_SEC)
		return fail(err, errlen, name, "%s is after 2554", quote(q, text));
	*out_ns = (uint64_t)secs * NS_PER_SEC + t.frac_ns;
	return 0;
}

/*---- integers ----*/

/* strtoll without its leniency: no spaces, no trailing text, no base
 * prefixes.  Returns 0, -1 when not an integer, -2 when beyond int64. */
static int parse_int64(const char *p, int64_t *out)
{
	int is_negative = 0;
	uint64_t limit, v = 0;

	if (*p == '-' || *p == '+')
		is_negative = *p++ == '-';
	if (!*p)
		return -1;
	limit = is_negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (!is_digit(*p))
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*out = is_negative ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int tm_qp_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
	      char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8];
	int64_t v = 0;
	int rc;

	text = text ? text : "";
	rc = parse_int64(text, &v);
	if (rc == -1)
		return fail(err, errlen, name, "%s is not an integer", quote(q, text));
	if (rc == -2 || v < min || v > max) {
		/* an integer: safe to show unquoted unless it is very long */
		if (strlen(text) > 24)
			text = quote(q, text);
		return fail(err, errlen, name, "%s (allowed: %jd to %jd)", text, (intmax_t)min,
			    (intmax_t)max);
	}
	*out = v;
	return 0;
}

/*---- pair lists ----*/

static int pairs_reserve(struct tm_qp_pairs *list, struct tm_arena *arena)
{
	if (list->n < list->cap)
		return 0;
	size_t cap = list->cap ? 2 * list->cap : 8;
	struct tm_qp_pair *items = tm_arena_alloc(arena, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	if (list->n)
		memcpy(items, list->items, list->n * sizeof(*items));
	list->items = items;
	list->cap = cap;
	return 0;
}

static struct tm_qp_pair *pairs_find(struct tm_qp_pairs *list, const char *key, size_t len)
{
	for (size_t i = 0; i < list->n; i++)
		if (tm_str_eq(list->items[i].key, (struct tm_str){ key, len }))
			return &list->items[i];
	return NULL;
}

/* copies text into the arena; a view of "" needs no copy. */
static int arena_str(struct tm_arena *arena, const char *p, size_t len, struct tm_str *out)
{
	const char *copy = len ? tm_arena_dup(arena, p, len) : "";
	if (!copy)
		return -ENOMEM;
	*out = (struct tm_str){ copy, len };
	return 0;
}

/* sets key to value: replaces the value of an existing key when
 * is_replacing, else leaves it; appends a new key.  Copies both. */
static int pairs_put(struct tm_qp_pairs *list, struct tm_arena *arena, struct tm_str key,
		     struct tm_str value, int is_replacing)
{
	struct tm_qp_pair *old = pairs_find(list, key.ptr, key.len);

	if (old)
		return is_replacing ? arena_str(arena, value.ptr, value.len, &old->value) : 0;
	if (pairs_reserve(list, arena))
		return -ENOMEM;
	struct tm_qp_pair *p = &list->items[list->n];
	if (arena_str(arena, key.ptr, key.len, &p->key) ||
	    arena_str(arena, value.ptr, value.len, &p->value))
		return -ENOMEM;
	list->n++;
	return 0;
}

/*---- Jaeger tags ----*/

/* the text of one tag value: a string, a number as written, a boolean. */
static int tag_value(struct tm_jr *r, struct tm_str *out)
{
	switch (tm_jr_peek(r)) {
	case TM_JR_STRING: *out = tm_jr_string(r); return 0;
	case TM_JR_NUMBER: *out = tm_jr_number(r); return 0;
	case TM_JR_BOOL: *out = tm_str_from(tm_jr_bool(r) ? "true" : "false"); return 0;
	default: return -1;
	}
}

/* the reason a JSON text was refused, without the reader's word "body". */
static const char *jr_reason(const struct tm_jr *r)
{
	static const char prefix[] = "body is not valid JSON: ";
	if (!strncmp(r->message, prefix, sizeof(prefix) - 1))
		return r->message + sizeof(prefix) - 1;
	return r->message;
}

int tm_qp_tags_json(const char *name, const char *text, struct tm_arena *arena,
		    struct tm_qp_pairs *tags, char *err, size_t errlen)
{
	struct tm_jr r;
	struct tm_str key, value;
	char q[4 * QUOTE_MAX + 8], kbuf[QUOTE_MAX + 1];

	text = text ? text : "";
	tm_jr_init(&r, text, strlen(text), arena);
	if (tm_jr_peek(&r) != TM_JR_OBJECT)
		return fail(err, errlen, name, "%s is not a JSON object such as " TAGS_EXAMPLE,
			    quote(q, text));
	tm_jr_object(&r);
	while (!r.err && tm_jr_next_key(&r, &key)) {
		if (tag_value(&r, &value) < 0) {
			snprintf(kbuf, sizeof(kbuf), "%.*s",
				 (int)(key.len < QUOTE_MAX ? key.len : QUOTE_MAX), key.ptr);
			return fail(err, errlen, name, "the value of %s is not a string, number "
				    "or boolean", quote(q, kbuf));
		}
		if (!r.err && pairs_put(tags, arena, key, value, 1))
			return out_of_memory(err, errlen, name);
	}
	tm_jr_finish(&r);
	if (r.err == -ENOMEM)
		return out_of_memory(err, errlen, name);
	if (r.err)
		return fail(err, errlen, name, "malformed JSON (%s); expected an object such as "
			    TAGS_EXAMPLE, jr_reason(&r));
	return 0;
}

int tm_qp_tag_pair(const char *name, const char *text, struct tm_arena *arena,
		   struct tm_qp_pairs *tags, char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8];
	const char *colon;

	text = text ? text : "";
	colon = strchr(text, ':');
	if (!colon)
		return fail(err, errlen, name, "%s is not key:value", quote(q, text));
	if (colon == text)
		return fail(err, errlen, name, "%s has an empty key (expected key:value)",
			    quote(q, text));
	struct tm_str key = { text, (size_t)(colon - text) };
	if (pairs_put(tags, arena, key, tm_str_from(colon + 1), 1))
		return out_of_memory(err, errlen, name);
	return 0;
}

/*---- Zipkin annotationQuery ----*/

/* Java's String.trim(): drops bytes <= ' ' at both ends. */
static struct tm_str trim(const char *p, size_t len)
{
	while (len && (unsigned char)*p <= ' ')
		p++, len--;
	while (len && (unsigned char)p[len - 1] <= ' ')
		len--;
	return (struct tm_str){ p, len };
}

static int annotation_term(const char *p, size_t len, struct tm_arena *arena,
			   struct tm_qp_pairs *terms)
{
	const char *eq = memchr(p, '=', len);
	struct tm_str key, value = { "", 0 };

	if (eq) {
		key = trim(p, (size_t)(eq - p));
		value = trim(eq + 1, len - (size_t)(eq - p) - 1);
	} else {
		key = trim(p, len);
	}
	/* Zipkin keeps "" too, and then no trace can match: skip it */
	if (!key.len)
		return 0;
	/* a tag term wins over a bare word, and the last tag term wins */
	return pairs_put(terms, arena, key, value, eq != NULL);
}

int tm_qp_annotation_query(const char *name, const char *text, struct tm_arena *arena,
			   struct tm_qp_pairs *terms, char *err, size_t errlen)
{
	static const char sep[] = " and ";
	const char *p = text ? text : "", *next;
	int n_terms = 1;

	if (!*p)
		return 0;
	while (n_terms++ < ZIPKIN_MAX_TERMS && (next = strstr(p, sep)) != NULL) {
		if (annotation_term(p, (size_t)(next - p), arena, terms))
			return out_of_memory(err, errlen, name);
		p = next + sizeof(sep) - 1;
	}
	if (annotation_term(p, strlen(p), arena, terms))
		return out_of_memory(err, errlen, name);
	return 0;
}
