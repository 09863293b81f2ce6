/* ingest_jaeger.c - one TBinaryProtocol jaeger.thrift Batch -> tm_batch.
 *
 * The schema is in proto/jaeger.thrift.  The mapping is the reverse of the
 * OTLP -> Jaeger one (protocols.md 4.5), as the OpenTelemetry Collector's
 * jaeger translator does it:
 * - Process: service.name = serviceName (when not empty), then its tags;
 * - IDs: trace ID = traceIdHigh then traceIdLow, big-endian; 0 is refused;
 * - parent: parentSpanId, or when it is 0 the first CHILD_OF reference in
 *   the same trace; every other reference is a link with the attribute
 *   opentracing.ref_type = child_of | follows_from;
 * - tags whose meaning OTLP has a field for leave the attributes: span.kind,
 *   error = true and otel.status_code (status), otel.status_description
 *   (with a status), w3c.tracestate, otel.scope.* or otel.library.* (scope);
 * - logs are events, named by their string field `event` (then dropped);
 * - times are microseconds; flags keep the sampled bit.
 * A tag's value is picked by vType alone: jaeger-client sends all seven
 * value fields on every tag.  Malformed thrift refuses the whole body; a
 * span that is well-formed but unusable (zero IDs, a missing required
 * field, an unknown enum value, negative times) is rejected alone. */
#include "ingest_jaeger.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "thrift.h"

/* distinct scopes looked up before a new one is simply added again */
#define SCOPE_CACHE 16

enum tag_type { TAG_STRING, TAG_DOUBLE, TAG_BOOL, TAG_LONG, TAG_BINARY };
enum ref_type { REF_CHILD_OF, REF_FOLLOWS_FROM };

struct jref {
	int32_t type;
	int64_t trace_low, trace_high, span_id;
};

/* a Span as read, before it becomes a tm_span */
struct jspan {
	int64_t trace_low, trace_high, span_id, parent_id;
	struct tm_str name;
	int32_t flags;
	int64_t start_us, duration_us;
	struct jref *refs;
	size_t n_refs;
	struct tm_attrs tags;
	struct tm_event *events;
	size_t n_events;
};

struct pending_span {
	struct tm_span span;
	uint32_t scope;
};

struct scope_entry {
	struct tm_str name, version;
	uint32_t index;
};

struct jdec {
	struct tm_thrift_reader rd;
	struct tm_arena *arena;
	struct tm_batch *batch;
	struct tm_ingest_report *report;
	char why[128];            /* first problem of the span (or process) being read */
	size_t why_offset;        /* where the struct with that problem began */
	const char *where;        /* context for a malformed body: "Batch.process", ... */
	size_t span_index;
	struct pending_span *pending;
	size_t n_pending, cap_pending;
	struct scope_entry scopes[SCOPE_CACHE];
	size_t n_scopes;
};

/*---- reading fields of a known type ----*/

static struct tm_str str_of(const uint8_t *p, size_t len)
{
	struct tm_str s = { (const char *)p, len };
	return s;
}

static int key_is(const struct tm_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len == n && !memcmp(s->ptr, lit, n);
}

static int wrong_type(struct jdec *d, uint8_t got, uint8_t want, const char *field)
{
	return tm_thrift_fail(&d->rd, d->rd.field_offset, "%s is %s, expected %s", field,
			      tm_thrift_type_name(got), tm_thrift_type_name(want));
}

static int get_i64(struct jdec *d, uint8_t type, const char *field, int64_t *out)
{
	if (type != TM_THRIFT_I64)
		return wrong_type(d, type, TM_THRIFT_I64, field);
	return tm_thrift_read_i64(&d->rd, out);
}

static int get_i32(struct jdec *d, uint8_t type, const char *field, int32_t *out)
{
	if (type != TM_THRIFT_I32)
		return wrong_type(d, type, TM_THRIFT_I32, field);
	return tm_thrift_read_i32(&d->rd, out);
}

static int get_str(struct jdec *d, uint8_t type, const char *field, struct tm_str *out)
{
	if (type != TM_THRIFT_STRING)
		return wrong_type(d, type, TM_THRIFT_STRING, field);
	const uint8_t *p;
	size_t len;
	int rc = tm_thrift_read_binary(&d->rd, &p, &len);
	if (!rc)
		*out = str_of(p, len);
	return rc;
}

/* a list<struct> field: checks the types, returns the element count and
 * opens one level of nesting, which the caller closes with tm_thrift_leave() */
static int open_struct_list(struct jdec *d, uint8_t type, const char *field, uint32_t *n)
{
	if (type != TM_THRIFT_LIST)
		return wrong_type(d, type, TM_THRIFT_LIST, field);
	size_t at = d->rd.pos;
	uint8_t elem;
	int rc = tm_thrift_read_list(&d->rd, &elem, n);
	if (!rc && elem != TM_THRIFT_STRUCT)
		rc = tm_thrift_fail(&d->rd, at, "%s is a list of %s, expected a list of struct",
				    field, tm_thrift_type_name(elem));
	return rc ? rc : tm_thrift_enter(&d->rd);
}

typedef int (*field_fn)(struct jdec *d, uint8_t type, int16_t id, void *obj);

/* reads one struct, handing each field to fn; *seen gets bit id for the
 * field ids 1 to 15 met */
static int read_struct(struct jdec *d, field_fn fn, void *obj, unsigned *seen)
{
	if (tm_thrift_enter(&d->rd) < 0)
		return -EBADMSG;
	for (;;) {
		uint8_t type;
		int16_t id;
		int rc = tm_thrift_read_field(&d->rd, &type, &id);
		if (rc < 0)
			return rc;
		if (type == TM_THRIFT_STOP)
			break;
		if ((rc = fn(d, type, id, obj)) < 0)
			return rc;
		if (id > 0 && id < 16)
			*seen |= 1u << id;
	}
	tm_thrift_leave(&d->rd);
	return 0;
}

/* n zeroed items from the arena (NULL for n == 0); -ENOMEM */
static int alloc_items(struct jdec *d, size_t n, size_t size, void **out)
{
	*out = NULL;
	if (!n)
		return 0;
	*out = tm_arena_zalloc(d->arena, n * size);
	return *out ? 0 : -ENOMEM;
}

/* notes why the current span (or process) cannot be kept; the first wins */
__attribute__((format(printf, 3, 4)))
static void problem(struct jdec *d, size_t offset, const char *fmt, ...)
{
	if (d->why[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	d->why_offset = offset;
}

/* a required field the struct ended without */
static void check_required(struct jdec *d, size_t at, unsigned seen, unsigned required,
			   const char *strct, const char *const *names)
{
	for (unsigned id = 1; id < 16; id++)
		if ((required & 1u << id) && !(seen & 1u << id)) {
			problem(d, at, "%s without its required field %u (%s)", strct, id,
				names[id]);
			return;
		}
}

/*---- Tag, Log, SpanRef ----*/

struct jtag {
	struct tm_str key, vstr, vbinary;
	int32_t vtype;
	double vdouble;
	int vbool;
	int64_t vlong;
};

static int tag_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jtag *t = obj;
	switch (id) {
	case 1: return get_str(d, type, "Tag.key (1)", &t->key);
	case 2: return get_i32(d, type, "Tag.vType (2)", &t->vtype);
	case 3: return get_str(d, type, "Tag.vStr (3)", &t->vstr);
	case 4:
		if (type != TM_THRIFT_DOUBLE)
			return wrong_type(d, type, TM_THRIFT_DOUBLE, "Tag.vDouble (4)");
		return tm_thrift_read_double(&d->rd, &t->vdouble);
	case 5:
		if (type != TM_THRIFT_BOOL)
			return wrong_type(d, type, TM_THRIFT_BOOL, "Tag.vBool (5)");
		return tm_thrift_read_bool(&d->rd, &t->vbool);
	case 6: return get_i64(d, type, "Tag.vLong (6)", &t->vlong);
	case 7: return get_str(d, type, "Tag.vBinary (7)", &t->vbinary);   /* same wire */
	default: return tm_thrift_skip(&d->rd, type);
	}
}

/* the value vType names; the other six fields are ignored */
static void tag_value(struct jdec *d, size_t at, const struct jtag *t, struct tm_value *v)
{
	switch (t->vtype) {
	case TAG_STRING: v->type = TM_VAL_STRING; v->u.str = t->vstr; break;
	case TAG_DOUBLE: v->type = TM_VAL_DOUBLE; v->u.dbl = t->vdouble; break;
	case TAG_BOOL: v->type = TM_VAL_BOOL; v->u.boolean = t->vbool; break;
	case TAG_LONG: v->type = TM_VAL_INT; v->u.integer = t->vlong; break;
	case TAG_BINARY: v->type = TM_VAL_BYTES; v->u.str = t->vbinary; break;
	default:
		problem(d, at, "tag \"%.*s\" has an unknown vType %d",
			(int)(t->key.len < 40 ? t->key.len : 40), t->key.ptr, (int)t->vtype);
	}
}

static int read_tag(struct jdec *d, struct tm_attr *out)
{
	static const char *const names[] = { NULL, "key", "vType" };
	struct jtag t = { .key = { "", 0 }, .vstr = { "", 0 }, .vbinary = { "", 0 } };
	size_t at = d->rd.pos;
	unsigned seen = 0;
	int rc = read_struct(d, tag_field, &t, &seen);
	if (rc < 0)
		return rc;
	check_required(d, at, seen, 1u << 1 | 1u << 2, "Tag", names);
	out->key = t.key;
	tag_value(d, at, &t, &out->value);
	return 0;
}

/* a list<Tag>; extra leading slots are left zeroed for the caller */
static int read_tags(struct jdec *d, uint8_t type, const char *field, size_t extra,
		     struct tm_attrs *out)
{
	uint32_t n;
	int rc = open_struct_list(d, type, field, &n);
	if (rc < 0)
		return rc;
	if ((rc = alloc_items(d, extra + n, sizeof(struct tm_attr), (void **)&out->items)) < 0)
		return rc;
	out->n = extra + n;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = read_tag(d, &out->items[extra + i])) < 0)
			return rc;
	tm_thrift_leave(&d->rd);
	return 0;
}

/* removes the attribute at index i, keeping the order of the others */
static void attrs_remove(struct tm_attrs *a, size_t i)
{
	memmove(&a->items[i], &a->items[i + 1], (a->n - i - 1) * sizeof(a->items[0]));
	a->n--;
}

/* the first attribute named key holding a value of the given type, or -1 */
static long attrs_find(const struct tm_attrs *a, const char *key, enum tm_value_type type)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->items[i].value.type == type && key_is(&a->items[i].key, key))
			return (long)i;
	return -1;
}

/* a Log's string field `event` is the event's name, as Jaeger shows it */
static void log_name(struct tm_event *e)
{
	long i = attrs_find(&e->attrs, "event", TM_VAL_STRING);
	if (i >= 0 && e->attrs.items[i].value.u.str.len) {
		e->name = e->attrs.items[i].value.u.str;
		attrs_remove(&e->attrs, (size_t)i);
	}
}

/* microseconds to nanoseconds; 0 when out of range (a problem is noted) */
static uint64_t us_to_ns(struct jdec *d, size_t at, int64_t us, const char *what)
{
	if (us < 0) {
		problem(d, at, "%s %lld is negative", what, (long long)us);
		return 0;
	}
	if ((uint64_t)us > UINT64_MAX / 1000) {
		problem(d, at, "%s %lld us is past the year 2554", what, (long long)us);
		return 0;
	}
	return (uint64_t)us * 1000;
}

struct jlog {
	int64_t ts_us;
	struct tm_event *event;
};

static int log_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jlog *l = obj;
	switch (id) {
	case 1: return get_i64(d, type, "Log.timestamp (1)", &l->ts_us);
	case 2: return read_tags(d, type, "Log.fields (2)", 0, &l->event->attrs);
	default: return tm_thrift_skip(&d->rd, type);
	}
}

static int read_log(struct jdec *d, struct tm_event *out)
{
	static const char *const names[] = { NULL, "timestamp", "fields" };
	struct jlog l = { 0, out };
	size_t at = d->rd.pos;
	unsigned seen = 0;
	int rc = read_struct(d, log_field, &l, &seen);
	if (rc < 0)
		return rc;
	check_required(d, at, seen, 1u << 1 | 1u << 2, "Log", names);
	out->time_ns = us_to_ns(d, at, l.ts_us, "Log.timestamp");
	log_name(out);
	return 0;
}

static int ref_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jref *r = obj;
	switch (id) {
	case 1: return get_i32(d, type, "SpanRef.refType (1)", &r->type);
	case 2: return get_i64(d, type, "SpanRef.traceIdLow (2)", &r->trace_low);
	case 3: return get_i64(d, type, "SpanRef.traceIdHigh (3)", &r->trace_high);
	case 4: return get_i64(d, type, "SpanRef.spanId (4)", &r->span_id);
	default: return tm_thrift_skip(&d->rd, type);
	}
}

static int read_ref(struct jdec *d, struct jref *out)
{
	static const char *const names[] = { NULL, "refType", "traceIdLow", "traceIdHigh",
					     "spanId" };
	size_t at = d->rd.pos;
	unsigned seen = 0;
	int rc = read_struct(d, ref_field, out, &seen);
	if (rc < 0)
		return rc;
	check_required(d, at, seen, 0x1e, "SpanRef", names);
	if (out->type != REF_CHILD_OF && out->type != REF_FOLLOWS_FROM)
		problem(d, at, "SpanRef has an unknown refType %d", (int)out->type);
	return 0;
}

/*---- Span ----*/

static int read_logs(struct jdec *d, uint8_t type, struct jspan *s)
{
	uint32_t n;
	int rc = open_struct_list(d, type, "Span.logs (11)", &n);
	if (!rc)
		rc = alloc_items(d, n, sizeof(*s->events), (void **)&s->events);
	s->n_events = rc ? 0 : n;
	for (size_t i = 0; !rc && i < s->n_events; i++)
		rc = read_log(d, &s->events[i]);
	if (!rc)
		tm_thrift_leave(&d->rd);
	return rc;
}

static int read_refs(struct jdec *d, uint8_t type, struct jspan *s)
{
	uint32_t n;
	int rc = open_struct_list(d, type, "Span.references (6)", &n);
	if (!rc)
		rc = alloc_items(d, n, sizeof(*s->refs), (void **)&s->refs);
	s->n_refs = rc ? 0 : n;
	for (size_t i = 0; !rc && i < s->n_refs; i++)
		rc = read_ref(d, &s->refs[i]);
	if (!rc)
		tm_thrift_leave(&d->rd);
	return rc;
}

static int span_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jspan *s = obj;
	switch (id) {
	case 1: return get_i64(d, type, "Span.traceIdLow (1)", &s->trace_low);
	case 2: return get_i64(d, type, "Span.traceIdHigh (2)", &s->trace_high);
	case 3: return get_i64(d, type, "Span.spanId (3)", &s->span_id);
	case 4: return get_i64(d, type, "Span.parentSpanId (4)", &s->parent_id);
	case 5: return get_str(d, type, "Span.operationName (5)", &s->name);
	case 6: return read_refs(d, type, s);
	case 7: return get_i32(d, type, "Span.flags (7)", &s->flags);
	case 8: return get_i64(d, type, "Span.startTime (8)", &s->start_us);
	case 9: return get_i64(d, type, "Span.duration (9)", &s->duration_us);
	case 10: return read_tags(d, type, "Span.tags (10)", 0, &s->tags);
	case 11: return read_logs(d, type, s);
	default: return tm_thrift_skip(&d->rd, type);
	}
}

static int read_span(struct jdec *d, struct jspan *s)
{
	static const char *const names[] = { NULL, "traceIdLow", "traceIdHigh", "spanId",
		"parentSpanId", "operationName", NULL, "flags", "startTime", "duration" };
	size_t at = d->rd.pos;
	unsigned seen = 0;
	memset(s, 0, sizeof(*s));
	s->name = str_of((const uint8_t *)"", 0);
	int rc = read_struct(d, span_field, s, &seen);
	if (rc < 0)
		return rc;
	check_required(d, at, seen, 0x3be, "Span", names);
	if (!s->trace_low && !s->trace_high)
		problem(d, at, "trace ID is 0 (traceIdHigh and traceIdLow)");
	if (!s->span_id)
		problem(d, at, "spanId is 0");
	us_to_ns(d, at, s->start_us, "startTime");
	if (s->duration_us < 0)
		problem(d, at, "duration %lld is negative", (long long)s->duration_us);
	else if (s->start_us > INT64_MAX - s->duration_us)
		problem(d, at, "startTime + duration overflows");
	else
		us_to_ns(d, at, s->start_us + s->duration_us, "startTime + duration");
	return 0;
}

/*---- a Span into the model ----*/

static void put_be64(uint8_t *out, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		out[i] = (uint8_t)u;
}

static int same_trace(const struct jref *r, const struct jspan *s)
{
	return r->trace_low == s->trace_low && r->trace_high == s->trace_high;
}

/* parentSpanId, else the first CHILD_OF in the same trace; 0 for a root */
static int64_t parent_of(const struct jspan *s)
{
	if (s->parent_id)
		return s->parent_id;
	for (size_t i = 0; i < s->n_refs; i++)
		if (s->refs[i].type == REF_CHILD_OF && same_trace(&s->refs[i], s) &&
		    s->refs[i].span_id)
			return s->refs[i].span_id;
	return 0;
}

static int is_parent_ref(const struct jref *r, const struct jspan *s, int64_t parent)
{
	return parent && r->type == REF_CHILD_OF && same_trace(r, s) && r->span_id == parent;
}

static int convert_links(struct jdec *d, const struct jspan *in, int64_t parent,
			 struct tm_span *out)
{
	static const char ref_type_key[] = "opentracing.ref_type";
	size_t n = 0;
	for (size_t i = 0; i < in->n_refs; i++)
		n += !is_parent_ref(&in->refs[i], in, parent);
	struct tm_attr *attrs;
	if (alloc_items(d, n, sizeof(*out->links), (void **)&out->links) < 0 ||
	    alloc_items(d, n, sizeof(*attrs), (void **)&attrs) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_refs; i++) {
		const struct jref *r = &in->refs[i];
		if (is_parent_ref(r, in, parent))
			continue;
		struct tm_link *l = &out->links[out->n_links];
		struct tm_attr *a = &attrs[out->n_links++];
		put_be64(l->trace_id, r->trace_high);
		put_be64(l->trace_id + 8, r->trace_low);
		put_be64(l->span_id, r->span_id);
		a->key.ptr = ref_type_key;
		a->key.len = sizeof(ref_type_key) - 1;
		a->value.type = TM_VAL_STRING;
		a->value.u.str.ptr = r->type == REF_CHILD_OF ? "child_of" : "follows_from";
		a->value.u.str.len = strlen(a->value.u.str.ptr);
		l->attrs.items = a;
		l->attrs.n = 1;
	}
	return 0;
}

static int str_is_ci(const struct tm_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len == n && !strncasecmp(s->ptr, lit, n);
}

/* takes the string attribute key out of a into *out; 1 if it was there */
static int take_str(struct tm_attrs *a, const char *key, struct tm_str *out)
{
	long i = attrs_find(a, key, TM_VAL_STRING);
	if (i < 0)
		return 0;
	*out = a->items[i].value.u.str;
	attrs_remove(a, (size_t)i);
	return 1;
}

static void take_kind(struct tm_attrs *a, struct tm_span *out)
{
	static const char *const kinds[] = { NULL, "internal", "server", "client", "producer",
					     "consumer" };
	long i = attrs_find(a, "span.kind", TM_VAL_STRING);
	if (i < 0)
		return;
	/* an unknown value says something OTLP cannot: it stays an attribute */
	for (uint8_t k = TM_KIND_INTERNAL; k <= TM_KIND_CONSUMER; k++)
		if (key_is(&a->items[i].value.u.str, kinds[k])) {
			out->kind = k;
			attrs_remove(a, (size_t)i);
			return;
		}
}

/* error = true wins over otel.status_code, which leaves the attributes
 * either way; the description belongs to a status only */
static void take_status(struct tm_attrs *a, struct tm_span *out)
{
	int has_status = 0;
	long i = attrs_find(a, "error", TM_VAL_BOOL);
	if (i >= 0 && a->items[i].value.u.boolean) {
		out->status_code = TM_STATUS_ERROR;
		has_status = 1;
		attrs_remove(a, (size_t)i);
	}
	i = attrs_find(a, "otel.status_code", TM_VAL_STRING);
	if (i >= 0) {
		const struct tm_str *code = &a->items[i].value.u.str;
		int known = str_is_ci(code, "OK") || str_is_ci(code, "ERROR") ||
			    str_is_ci(code, "UNSET");
		if (known && !has_status)
			out->status_code = str_is_ci(code, "OK") ? TM_STATUS_OK
				: str_is_ci(code, "ERROR") ? TM_STATUS_ERROR : TM_STATUS_UNSET;
		has_status |= known;
		if (known)
			attrs_remove(a, (size_t)i);
	}
	if (has_status)
		take_str(a, "otel.status_description", &out->status_message);
}

/* otel.scope.name/version, or the older otel.library.name/version */
static void take_scope(struct tm_attrs *a, struct tm_scope *scope)
{
	if (take_str(a, "otel.scope.name", &scope->name))
		take_str(a, "otel.scope.version", &scope->version);
	else if (take_str(a, "otel.library.name", &scope->name))
		take_str(a, "otel.library.version", &scope->version);
}

/* the index of this scope in the batch, added on first use */
static int scope_index(struct jdec *d, const struct tm_scope *scope, uint32_t *index)
{
	for (size_t i = 0; i < d->n_scopes; i++) {
		const struct scope_entry *e = &d->scopes[i];
		if (e->name.len == scope->name.len && e->version.len == scope->version.len &&
		    !memcmp(e->name.ptr, scope->name.ptr, e->name.len) &&
		    !memcmp(e->version.ptr, scope->version.ptr, e->version.len)) {
			*index = e->index;
			return 0;
		}
	}
	int rc = tm_batch_add_scope(d->batch, scope, index);
	if (!rc && d->n_scopes < SCOPE_CACHE)
		d->scopes[d->n_scopes++] =
			(struct scope_entry){ scope->name, scope->version, *index };
	return rc;
}

static int convert_span(struct jdec *d, struct jspan *in, struct pending_span *p)
{
	struct tm_span *out = &p->span;
	struct tm_scope scope = { .name = { "", 0 }, .version = { "", 0 } };
	memset(out, 0, sizeof(*out));
	put_be64(out->trace_id, in->trace_high);
	put_be64(out->trace_id + 8, in->trace_low);
	put_be64(out->span_id, in->span_id);
	int64_t parent = parent_of(in);
	if (parent) {
		out->has_parent = 1;
		put_be64(out->parent_span_id, parent);
	}
	out->name = in->name;
	out->flags = (uint32_t)in->flags & 1;   /* sampled; Jaeger's debug bit is not W3C's */
	out->start_ns = (uint64_t)in->start_us * 1000;
	out->end_ns = (uint64_t)(in->start_us + in->duration_us) * 1000;
	out->attrs = in->tags;
	take_kind(&out->attrs, out);
	take_status(&out->attrs, out);
	take_str(&out->attrs, "w3c.tracestate", &out->trace_state);
	take_scope(&out->attrs, &scope);
	out->events = in->events;
	out->n_events = in->n_events;
	int rc = convert_links(d, in, parent, out);
	return rc ? rc : scope_index(d, &scope, &p->scope);
}

static int add_pending(struct jdec *d, struct jspan *s)
{
	if (d->n_pending == d->cap_pending) {
		size_t cap = d->cap_pending ? 2 * d->cap_pending : 16;
		struct pending_span *p = tm_arena_alloc(d->arena, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (d->n_pending)
			memcpy(p, d->pending, d->n_pending * sizeof(*p));
		d->pending = p;
		d->cap_pending = cap;
	}
	int rc = convert_span(d, s, &d->pending[d->n_pending]);
	if (!rc)
		d->n_pending++;
	return rc;
}

/*---- Process and Batch ----*/

static int read_spans(struct jdec *d, uint8_t type)
{
	uint32_t n;
	int rc = open_struct_list(d, type, "Batch.spans (2)", &n);
	for (uint32_t i = 0; !rc && i < n; i++) {
		struct jspan s;
		d->span_index = i;
		d->why[0] = '\0';
		rc = read_span(d, &s);
		if (!rc && d->why[0])
			tm_ingest_reject(d->report, "Batch.spans[%u]: %s (byte offset %zu)",
					 (unsigned)i, d->why, d->why_offset);
		else if (!rc)
			rc = add_pending(d, &s);
	}
	if (!rc)
		tm_thrift_leave(&d->rd);
	return rc;
}

/* service.name goes first, in the slot read_tags() left free; the
 * translator sets none for an empty serviceName, and neither do we */
static int set_service(struct jdec *d, struct tm_str service, struct tm_attrs *attrs)
{
	static const char key[] = "service.name";
	if (!attrs->items) {
		if (alloc_items(d, 1, sizeof(struct tm_attr), (void **)&attrs->items) < 0)
			return -ENOMEM;
		attrs->n = 1;
	}
	if (!service.len) {
		attrs_remove(attrs, 0);
		return 0;
	}
	attrs->items[0].key.ptr = key;
	attrs->items[0].key.len = sizeof(key) - 1;
	attrs->items[0].value.type = TM_VAL_STRING;
	attrs->items[0].value.u.str = service;
	return 0;
}

struct jprocess {
	struct tm_str service;
	struct tm_resource *res;
};

static int process_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jprocess *p = obj;
	switch (id) {
	case 1: return get_str(d, type, "Process.serviceName (1)", &p->service);
	case 2: return read_tags(d, type, "Process.tags (2)", 1, &p->res->attrs);
	default: return tm_thrift_skip(&d->rd, type);
	}
}

static int read_process(struct jdec *d, uint8_t type, struct tm_resource *res)
{
	static const char *const names[] = { NULL, "serviceName" };
	struct jprocess p = { { "", 0 }, res };
	if (type != TM_THRIFT_STRUCT)
		return wrong_type(d, type, TM_THRIFT_STRUCT, "Batch.process (1)");
	size_t at = d->rd.pos;
	unsigned seen = 0;
	d->why[0] = '\0';
	memset(res, 0, sizeof(*res));
	int rc = read_struct(d, process_field, &p, &seen);
	if (rc < 0)
		return rc;
	check_required(d, at, seen, 1u << 1, "Process", names);
	if (d->why[0])
		return tm_thrift_fail(&d->rd, d->why_offset, "Process: %s", d->why);
	return set_service(d, p.service, &res->attrs);
}

struct jbatch {
	unsigned seen;   /* process and spans, which may come once only */
	struct tm_resource *res;
};

static int batch_field(struct jdec *d, uint8_t type, int16_t id, void *obj)
{
	struct jbatch *b = obj;
	if (id == 1 || id == 2) {
		if (b->seen & 1u << id)
			return tm_thrift_fail(&d->rd, d->rd.field_offset,
					      "Batch field %d appears twice", id);
		b->seen |= 1u << id;
	}
	int rc;
	switch (id) {
	case 1:
		d->where = "Batch.process";
		rc = read_process(d, type, b->res);
		break;
	case 2:
		d->where = "Batch.spans";
		rc = read_spans(d, type);
		break;
	default:
		rc = tm_thrift_skip(&d->rd, type);
	}
	if (!rc)
		d->where = "Batch";
	return rc;
}

static int read_batch(struct jdec *d, struct tm_resource *res)
{
	struct jbatch b = { 0, res };
	unsigned seen = 0;
	d->where = "Batch";
	int rc = read_struct(d, batch_field, &b, &seen);
	if (rc < 0)
		return rc;
	if (!(seen & 1u << 1))
		return tm_thrift_fail(&d->rd, d->rd.pos, "Batch without its process (field 1)");
	if (!(seen & 1u << 2))
		return tm_thrift_fail(&d->rd, d->rd.pos, "Batch without its spans (field 2)");
	if (d->rd.pos != d->rd.len)
		return tm_thrift_fail(&d->rd, d->rd.pos, "%zu bytes after the end of the Batch",
				      d->rd.len - d->rd.pos);
	return 0;
}

/* the resource is known only once the whole Batch is read (thrift fields
 * may come in any order), so the spans wait for it */
static int add_to_batch(struct jdec *d, const struct tm_resource *res)
{
	uint32_t res_index;
	int rc = tm_batch_add_resource(d->batch, res, &res_index);
	for (size_t i = 0; !rc && i < d->n_pending; i++) {
		rc = tm_batch_add_span(d->batch, &d->pending[i].span, res_index,
				       d->pending[i].scope);
		d->report->accepted += !rc;
	}
	return rc;
}

static void describe_bad_body(struct jdec *d)
{
	char where[48] = "";
	if (d->where && !strcmp(d->where, "Batch.spans"))
		snprintf(where, sizeof(where), " (in Batch.spans[%zu])", d->span_index);
	else if (d->where && strcmp(d->where, "Batch"))
		snprintf(where, sizeof(where), " (in %s)", d->where);
	snprintf(d->report->message, sizeof(d->report->message),
		 "not a TBinaryProtocol jaeger.thrift Batch: %s%s", d->rd.error, where);
}

int tm_ingest_jaeger_thrift(const void *body, size_t len, struct tm_arena *arena,
			    struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct jdec d = { .arena = arena, .batch = batch, .report = report };
	struct tm_resource res = { 0 };
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
	tm_thrift_reader_init(&d.rd, body, len);
	int rc = read_batch(&d, &res);
	if (!rc)
		rc = add_to_batch(&d, &res);
	tm_batch_done(batch);
	if (rc == -EBADMSG)
		describe_bad_body(&d);
	return rc == -ENOMEM && arena->hit_limit ? tm_ingest_too_big(arena, report) : rc;
}
