/* trace_json.c - traces as Jaeger query JSON and as OTLP/JSON (see trace_json.h).
 *
 * Nested attribute values are written recursively; their depth is bounded
 * by the decoders (storage/span_codec.c accepts 64 levels). */
#include "trace_json.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#define NONE ((size_t)-1)

/* JavaScript's Number.MAX_SAFE_INTEGER; Jaeger writes larger ints as strings. */
#define JS_MAX_SAFE_INT INT64_C(9007199254740991)

/*---- shared helpers ----*/

/* an object being written: puts the ',' before every key but the first. */
struct jobj {
	struct tm_buf *b;
	size_t n_keys;
};

static void obj_open(struct jobj *o, struct tm_buf *b)
{
	o->b = b;
	o->n_keys = 0;
	tm_buf_add(b, "{", 1);
}

static void obj_key(struct jobj *o, const char *key)
{
	if (o->n_keys++)
		tm_buf_add(o->b, ",", 1);
	tm_json_key(o->b, key);
}

static void obj_close(struct jobj *o)
{
	tm_buf_add(o->b, "}", 1);
}

/* writes ',' before every array element but the first. */
static void comma_unless_first(struct tm_buf *b, size_t index)
{
	if (index)
		tm_buf_add(b, ",", 1);
}

static int str_eq(const struct tm_str *a, const struct tm_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static int str_is(const struct tm_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->len == n && memcmp(s->ptr, lit, n) == 0;
}

static const struct tm_attr *find_attr(const struct tm_attrs *attrs, const char *key)
{
	for (size_t i = 0; i < attrs->n; i++)
		if (str_is(&attrs->items[i].key, key))
			return &attrs->items[i];
	return NULL;
}

/*---- Jaeger: attribute values ----*/

/* plain JSON of a value, the text Jaeger puts in a "string" tag for arrays
 * and maps (pcommon AsString): ["a",1] and {"k":"v"}. */
static void raw_value(struct tm_buf *b, const struct tm_value *v)
{
	switch (v->type) {
	case TM_VAL_STRING: tm_json_tstr(b, &v->u.str); break;
	case TM_VAL_BOOL: tm_json_bool(b, v->u.boolean); break;
	case TM_VAL_INT: tm_json_int(b, v->u.integer); break;
	case TM_VAL_DOUBLE: tm_json_double(b, v->u.dbl); break;
	case TM_VAL_BYTES: tm_json_base64(b, v->u.str.ptr, v->u.str.len); break;
	case TM_VAL_ARRAY:
		tm_buf_add(b, "[", 1);
		for (size_t i = 0; i < v->u.array.n; i++) {
			comma_unless_first(b, i);
			raw_value(b, &v->u.array.items[i]);
		}
		tm_buf_add(b, "]", 1);
		break;
	case TM_VAL_KVLIST:
		tm_buf_add(b, "{", 1);
		for (size_t i = 0; i < v->u.kvlist.n; i++) {
			comma_unless_first(b, i);
			tm_json_tstr(b, &v->u.kvlist.items[i].key);
			tm_buf_add(b, ":", 1);
			raw_value(b, &v->u.kvlist.items[i].value);
		}
		tm_buf_add(b, "}", 1);
		break;
	default: tm_buf_add_str(b, "null"); break;
	}
}

/* writes the JSON text of an array or map as one JSON string. */
static void raw_value_as_string(struct tm_buf *b, const struct tm_value *v)
{
	struct tm_buf text;

	tm_buf_init(&text);
	raw_value(&text, v);
	if (text.failed)
		b->failed = 1;
	else
		tm_json_str(b, (const char *)text.data, text.len);
	tm_buf_free(&text);
}

/* a Jaeger tag array being written: [{"key":..,"type":..,"value":..},...] */
struct tag_list {
	struct tm_buf *b;
	size_t n_tags;
};

/* writes up to and including "value": of the next tag. */
static void tag_open(struct tag_list *tl, const char *key, size_t key_len,
		     const char *type)
{
	struct tm_buf *b = tl->b;

	comma_unless_first(b, tl->n_tags++);
	tm_buf_add_str(b, "{\"key\":");
	tm_json_str(b, key, key_len);
	tm_buf_add_str(b, ",\"type\":\"");
	tm_buf_add_str(b, type);
	tm_buf_add_str(b, "\",\"value\":");
}

static void tag_str(struct tag_list *tl, const char *key, const struct tm_str *value)
{
	tag_open(tl, key, strlen(key), "string");
	tm_json_tstr(tl->b, value);
	tm_buf_add(tl->b, "}", 1);
}

static void tag_cstr(struct tag_list *tl, const char *key, const char *value)
{
	tag_open(tl, key, strlen(key), "string");
	tm_json_cstr(tl->b, value);
	tm_buf_add(tl->b, "}", 1);
}

static const char *tag_type_of(enum tm_value_type type)
{
	switch (type) {
	case TM_VAL_BOOL: return "bool";
	case TM_VAL_INT: return "int64";
	case TM_VAL_DOUBLE: return "float64";
	case TM_VAL_BYTES: return "binary";
	default: return "string";   /* string, array, kvlist, empty */
	}
}

static void tag_attr(struct tag_list *tl, const struct tm_attr *a)
{
	const struct tm_value *v = &a->value;
	struct tm_buf *b = tl->b;

	tag_open(tl, a->key.ptr, a->key.len, tag_type_of(v->type));
	switch (v->type) {
	case TM_VAL_STRING: tm_json_tstr(b, &v->u.str); break;
	case TM_VAL_BOOL: tm_json_bool(b, v->u.boolean); break;
	case TM_VAL_DOUBLE: tm_json_double(b, v->u.dbl); break;
	case TM_VAL_BYTES: tm_json_base64(b, v->u.str.ptr, v->u.str.len); break;
	case TM_VAL_INT:
		/* a JSON number beyond 2^53 loses digits in JavaScript */
		if (v->u.integer > JS_MAX_SAFE_INT || v->u.integer < -JS_MAX_SAFE_INT)
			tm_json_int_str(b, v->u.integer);
		else
			tm_json_int(b, v->u.integer);
		break;
	case TM_VAL_ARRAY:
	case TM_VAL_KVLIST: raw_value_as_string(b, v); break;
	default: tm_buf_add(b, "\"\"", 2); break;
	}
	tm_buf_add(b, "}", 1);
}

/*---- Jaeger: processes ----*/

static const struct tm_attrs no_attrs;

static const struct tm_attrs *resource_attrs(const struct tm_resource *r)
{
	return r ? &r->attrs : &no_attrs;
}

static int value_eq(const struct tm_value *a, const struct tm_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case TM_VAL_STRING:
	case TM_VAL_BYTES: return str_eq(&a->u.str, &b->u.str);
	case TM_VAL_BOOL: return !a->u.boolean == !b->u.boolean;
	case TM_VAL_INT: return a->u.integer == b->u.integer;
	case TM_VAL_DOUBLE: return memcmp(&a->u.dbl, &b->u.dbl, sizeof(double)) == 0;
	case TM_VAL_ARRAY:
		if (a->u.array.n != b->u.array.n)
			return 0;
		for (size_t i = 0; i < a->u.array.n; i++)
			if (!value_eq(&a->u.array.items[i], &b->u.array.items[i]))
				return 0;
		return 1;
	case TM_VAL_KVLIST:
		if (a->u.kvlist.n != b->u.kvlist.n)
			return 0;
		for (size_t i = 0; i < a->u.kvlist.n; i++)
			if (!str_eq(&a->u.kvlist.items[i].key, &b->u.kvlist.items[i].key) ||
			    !value_eq(&a->u.kvlist.items[i].value, &b->u.kvlist.items[i].value))
				return 0;
		return 1;
	default: return 1;
	}
}

/* 1 when every attribute of a has an equal one (same key) in b. */
static int attrs_subset(const struct tm_attrs *a, const struct tm_attrs *b)
{
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (j < b->n && !(str_eq(&a->items[i].key, &b->items[j].key) &&
				     value_eq(&a->items[i].value, &b->items[j].value)))
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* Jaeger sorts process tags before comparing, so order does not matter. */
static int attrs_same_set(const struct tm_attrs *a, const struct tm_attrs *b)
{
	return a->n == b->n && attrs_subset(a, b) && attrs_subset(b, a);
}

static uint64_t hash_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * UINT64_C(0x100000001b3);   /* FNV-1a */
	return h;
}

static uint64_t value_hash(uint64_t h, const struct tm_value *v)
{
	unsigned char type = (unsigned char)v->type;

	h = hash_mix(h, &type, 1);
	switch (v->type) {
	case TM_VAL_STRING:
	case TM_VAL_BYTES: return hash_mix(h, v->u.str.ptr, v->u.str.len);
	case TM_VAL_BOOL: type = !!v->u.boolean; return hash_mix(h, &type, 1);
	case TM_VAL_INT: return hash_mix(h, &v->u.integer, sizeof(int64_t));
	case TM_VAL_DOUBLE: return hash_mix(h, &v->u.dbl, sizeof(double));
	case TM_VAL_ARRAY:
		for (size_t i = 0; i < v->u.array.n; i++)
			h = value_hash(h, &v->u.array.items[i]);
		return h;
	case TM_VAL_KVLIST:
		for (size_t i = 0; i < v->u.kvlist.n; i++) {
			const struct tm_attr *a = &v->u.kvlist.items[i];
			h = value_hash(hash_mix(h, a->key.ptr, a->key.len), &a->value);
		}
		return h;
	default: return h;
	}
}

/* a hash that ignores attribute order, so equal sets hash equal. */
static uint64_t attrs_set_hash(const struct tm_attrs *attrs)
{
	uint64_t sum = attrs->n;

	for (size_t i = 0; i < attrs->n; i++) {
		const struct tm_attr *a = &attrs->items[i];
		uint64_t h = hash_mix(UINT64_C(0xcbf29ce484222325), a->key.ptr, a->key.len);
		sum += value_hash(h, &a->value);
	}
	return sum;
}

/* which process (p1 = 0, p2 = 1, ...) each span of one trace belongs to. */
struct proc_map {
	const struct tm_resource **reps;   /* first resource seen per process */
	uint64_t *rep_hash;
	size_t n_procs;
	size_t *span_proc;
};

static void proc_map_free(struct proc_map *m)
{
	free(m->reps);
	free(m->rep_hash);
	free(m->span_proc);
}

static size_t proc_find_or_add(struct proc_map *m, const struct tm_resource *r)
{
	const struct tm_attrs *attrs = resource_attrs(r);
	uint64_t h = attrs_set_hash(attrs);

	for (size_t i = 0; i < m->n_procs; i++) {
		if (m->reps[i] == r)
			return i;
		if (m->rep_hash[i] == h && attrs_same_set(resource_attrs(m->reps[i]), attrs))
			return i;
	}
	m->reps[m->n_procs] = r;
	m->rep_hash[m->n_procs] = h;
	return m->n_procs++;
}

/* returns 0, or -1 when out of memory. */
static int proc_map_build(struct proc_map *m, const struct tm_trace *t)
{
	size_t n = t->n_spans ? t->n_spans : 1;
	const struct tm_resource *last = NULL;
	size_t last_proc = NONE;

	m->n_procs = 0;
	m->reps = malloc(n * sizeof(*m->reps));
	m->rep_hash = malloc(n * sizeof(*m->rep_hash));
	m->span_proc = malloc(n * sizeof(*m->span_proc));
	if (!m->reps || !m->rep_hash || !m->span_proc) {
		proc_map_free(m);
		return -1;
	}
	for (size_t i = 0; i < t->n_spans; i++) {
		/* spans of one resource usually come together: skip the search */
		if (last_proc == NONE || t->spans[i].resource != last) {
			last = t->spans[i].resource;
			last_proc = proc_find_or_add(m, last);
		}
		m->span_proc[i] = last_proc;
	}
	return 0;
}

static void jaeger_service_name(struct tm_buf *b, const struct tm_attrs *attrs)
{
	const struct tm_attr *a = find_attr(attrs, "service.name");

	/* the names Jaeger's OTLP translator and ingest sanitizer use */
	if (attrs->n == 0)
		tm_json_cstr(b, "OTLPResourceNoServiceName");
	else if (!a)
		tm_json_cstr(b, "missing-service-name");
	else if (a->value.type != TM_VAL_STRING)
		tm_json_cstr(b, "service-name-wrong-type");
	else
		tm_json_tstr(b, &a->value.u.str);
}

static void jaeger_process(struct tm_buf *b, size_t index, const struct tm_resource *r)
{
	const struct tm_attrs *attrs = resource_attrs(r);
	struct tag_list tl = { b, 0 };

	comma_unless_first(b, index);
	tm_buf_add_str(b, "\"p");
	tm_json_uint(b, index + 1);
	tm_buf_add_str(b, "\":{\"serviceName\":");
	jaeger_service_name(b, attrs);
	tm_buf_add_str(b, ",\"tags\":[");
	for (size_t i = 0; i < attrs->n; i++)
		if (!str_is(&attrs->items[i].key, "service.name"))
			tag_attr(&tl, &attrs->items[i]);
	tm_buf_add_str(b, "]}");
}

/*---- Jaeger: spans ----*/

/* Jaeger prints a 128-bit id whose high half is zero as a 64-bit one. */
static void jaeger_trace_id(struct tm_buf *b, const uint8_t id[TM_TRACE_ID_LEN])
{
	if (tm_id_is_zero(id, 8))
		tm_json_hex(b, id + 8, 8);
	else
		tm_json_hex(b, id, TM_TRACE_ID_LEN);
}

static const char *link_ref_type(const struct tm_link *l)
{
	const struct tm_attr *a = find_attr(&l->attrs, "opentracing.ref_type");

	if (a && a->value.type == TM_VAL_STRING && str_is(&a->value.u.str, "child_of"))
		return "CHILD_OF";
	return "FOLLOWS_FROM";
}

static int link_is_parent(const struct tm_span *s, const struct tm_link *l)
{
	return s->has_parent &&
	       memcmp(l->trace_id, s->trace_id, TM_TRACE_ID_LEN) == 0 &&
	       memcmp(l->span_id, s->parent_span_id, TM_SPAN_ID_LEN) == 0;
}

static void jaeger_ref(struct tm_buf *b, const char *type, const uint8_t *trace_id,
		       const uint8_t *span_id)
{
	tm_buf_add_str(b, "{\"refType\":\"");
	tm_buf_add_str(b, type);
	tm_buf_add_str(b, "\",\"traceID\":");
	jaeger_trace_id(b, trace_id);
	tm_buf_add_str(b, ",\"spanID\":");
	tm_json_hex(b, span_id, TM_SPAN_ID_LEN);
	tm_buf_add(b, "}", 1);
}

/* the parent first, as consumers take the first CHILD_OF as the parent;
 * a link to the parent itself only sets that entry's type.  parent_id is
 * the ID to name for the parent (see shared_ids below). */
static void jaeger_references(struct tm_buf *b, const struct tm_span *s, const uint8_t *parent_id)
{
	size_t n = 0;

	tm_buf_add(b, "[", 1);
	if (s->has_parent) {
		const char *type = "CHILD_OF";
		for (size_t i = 0; i < s->n_links; i++)
			if (link_is_parent(s, &s->links[i]))
				type = link_ref_type(&s->links[i]);
		jaeger_ref(b, type, s->trace_id, parent_id);
		n++;
	}
	for (size_t i = 0; i < s->n_links; i++) {
		const struct tm_link *l = &s->links[i];
		if (link_is_parent(s, l))
			continue;
		comma_unless_first(b, n++);
		jaeger_ref(b, link_ref_type(l), l->trace_id, l->span_id);
	}
	tm_buf_add(b, "]", 1);
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case TM_KIND_INTERNAL: return "internal";
	case TM_KIND_SERVER: return "server";
	case TM_KIND_CLIENT: return "client";
	case TM_KIND_PRODUCER: return "producer";
	case TM_KIND_CONSUMER: return "consumer";
	default: return NULL;
	}
}

static int has_attr(const struct tm_attrs *attrs, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < attrs->n; i++)
		if (attrs->items[i].key.len == n && !memcmp(attrs->items[i].key.ptr, key, n))
			return 1;
	return 0;
}

/* the tags after the span attributes, in the translator's order. */
static void jaeger_span_meta_tags(struct tag_list *tl, const struct tm_span *s)
{
	const char *kind = kind_name(s->kind);

	if (kind)
		tag_cstr(tl, "span.kind", kind);
	if (s->status_code == TM_STATUS_OK) {
		tag_cstr(tl, "otel.status_code", "OK");
	} else if (s->status_code == TM_STATUS_ERROR) {
		tag_cstr(tl, "otel.status_code", "ERROR");
		/* a span that came with an error tag of its own (Zipkin, Jaeger)
		 * keeps that one: a key twice confuses every reader */
		if (!has_attr(&s->attrs, "error")) {
			tag_open(tl, "error", 5, "bool");
			tm_buf_add_str(tl->b, "true}");
		}
	}
	if (s->status_message.len)
		tag_str(tl, "otel.status_description", &s->status_message);
	if (s->trace_state.len)
		tag_str(tl, "w3c.tracestate", &s->trace_state);
}

static void jaeger_span_tags(struct tm_buf *b, const struct tm_span *s)
{
	struct tag_list tl = { b, 0 };

	tm_buf_add(b, "[", 1);
	if (s->scope && s->scope->name.len)
		tag_str(&tl, "otel.scope.name", &s->scope->name);
	if (s->scope && s->scope->version.len)
		tag_str(&tl, "otel.scope.version", &s->scope->version);
	for (size_t i = 0; i < s->attrs.n; i++)
		tag_attr(&tl, &s->attrs.items[i]);
	jaeger_span_meta_tags(&tl, s);
	tm_buf_add(b, "]", 1);
}

static void jaeger_log(struct tm_buf *b, const struct tm_event *e)
{
	struct tag_list tl = { b, 0 };

	tm_buf_add_str(b, "{\"timestamp\":");
	tm_json_uint(b, e->time_ns / 1000);
	tm_buf_add_str(b, ",\"fields\":[");
	if (e->name.len && !find_attr(&e->attrs, "event"))
		tag_str(&tl, "event", &e->name);
	for (size_t i = 0; i < e->attrs.n; i++)
		tag_attr(&tl, &e->attrs.items[i]);
	tm_buf_add_str(b, "]}");
}

static void jaeger_span(struct tm_buf *b, const struct tm_span *s, size_t proc,
			const uint8_t *span_id, const uint8_t *parent_id)
{
	uint64_t duration_ns = s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;

	tm_buf_add_str(b, "{\"traceID\":");
	jaeger_trace_id(b, s->trace_id);
	tm_buf_add_str(b, ",\"spanID\":");
	tm_json_hex(b, span_id, TM_SPAN_ID_LEN);
	tm_buf_add_str(b, ",\"operationName\":");
	tm_json_tstr(b, &s->name);
	tm_buf_add_str(b, ",\"references\":");
	jaeger_references(b, s, parent_id);
	tm_buf_add_str(b, ",\"startTime\":");
	tm_json_uint(b, s->start_ns / 1000);
	tm_buf_add_str(b, ",\"duration\":");
	tm_json_uint(b, duration_ns / 1000);
	tm_buf_add_str(b, ",\"tags\":");
	jaeger_span_tags(b, s);
	tm_buf_add_str(b, ",\"logs\":[");
	for (size_t i = 0; i < s->n_events; i++) {
		comma_unless_first(b, i);
		jaeger_log(b, &s->events[i]);
	}
	tm_buf_add_str(b, "],\"processID\":\"p");
	tm_json_uint(b, proc + 1);
	tm_buf_add_str(b, "\",\"warnings\":null");
	if (s->flags & 0xff) {   /* the W3C trace flags byte */
		tm_buf_add_str(b, ",\"flags\":");
		tm_json_uint(b, s->flags & 0xff);
	}
	tm_buf_add(b, "}", 1);
}

/*---- Zipkin shared spans, as Jaeger's span-ID deduper shows them ----
 *
 * A B3 shared span stores its server record under the client's span ID,
 * with that ID as its own parent.  A Jaeger consumer would see one ID twice
 * and a span that is its own parent; Jaeger's query service gives the
 * server record a new ID (the client's plus one, the next one free), makes
 * it a child of the client, and re-points the server's children to it. */

struct shared_id {
	uint8_t old_id[TM_SPAN_ID_LEN];
	uint8_t new_id[TM_SPAN_ID_LEN];
};

struct shared_ids {
	struct shared_id *items;
	size_t n;
	uint8_t *is_server;    /* per span: the shared server record */
};

static int is_shared_server(const struct tm_trace *t, size_t i)
{
	const struct tm_span *s = &t->spans[i];
	if (!s->has_parent || memcmp(s->parent_span_id, s->span_id, TM_SPAN_ID_LEN))
		return 0;
	for (size_t j = 0; j < t->n_spans; j++)
		if (j != i && !memcmp(t->spans[j].span_id, s->span_id, TM_SPAN_ID_LEN))
			return 1;
	return 0;
}

static int id_in_use(const struct tm_trace *t, const struct shared_ids *sh, const uint8_t *id)
{
	for (size_t j = 0; j < t->n_spans; j++)
		if (!memcmp(t->spans[j].span_id, id, TM_SPAN_ID_LEN))
			return 1;
	for (size_t k = 0; k < sh->n; k++)
		if (!memcmp(sh->items[k].new_id, id, TM_SPAN_ID_LEN))
			return 1;
	return 0;
}

static void id_increment(uint8_t *id)
{
	for (int i = TM_SPAN_ID_LEN - 1; i >= 0 && !++id[i]; i--)
		;
}

/* quadratic in the shared records only, which are a handful per trace */
static int shared_ids_build(const struct tm_trace *t, struct shared_ids *sh)
{
	memset(sh, 0, sizeof(*sh));
	for (size_t i = 0; i < t->n_spans; i++) {
		if (!is_shared_server(t, i))
			continue;
		if (!sh->is_server) {
			sh->is_server = calloc(t->n_spans, 1);
			sh->items = calloc(t->n_spans, sizeof(*sh->items));
			if (!sh->is_server || !sh->items)
				return -1;
		}
		struct shared_id *x = &sh->items[sh->n];
		memcpy(x->old_id, t->spans[i].span_id, TM_SPAN_ID_LEN);
		memcpy(x->new_id, x->old_id, TM_SPAN_ID_LEN);
		do
			id_increment(x->new_id);
		while (id_in_use(t, sh, x->new_id));
		sh->n++;
		sh->is_server[i] = 1;
	}
	return 0;
}

static const struct shared_id *shared_find(const struct shared_ids *sh, const uint8_t *id)
{
	for (size_t k = 0; k < sh->n; k++)
		if (!memcmp(sh->items[k].old_id, id, TM_SPAN_ID_LEN))
			return &sh->items[k];
	return NULL;
}

static void jaeger_trace(struct tm_buf *b, const struct tm_trace *t)
{
	struct proc_map m;
	struct shared_ids sh;

	if (proc_map_build(&m, t) < 0) {
		b->failed = 1;
		return;
	}
	if (shared_ids_build(t, &sh) < 0)
		b->failed = 1;
	tm_buf_add_str(b, "{\"traceID\":");
	jaeger_trace_id(b, t->trace_id);
	tm_buf_add_str(b, ",\"spans\":[");
	for (size_t i = 0; i < t->n_spans && !b->failed; i++) {
		const struct tm_span *s = &t->spans[i];
		const uint8_t *id = s->span_id, *parent = s->parent_span_id;
		const struct shared_id *x = sh.n ? shared_find(&sh, s->span_id) : NULL;
		if (x && sh.is_server[i]) {
			id = x->new_id;            /* the server record, a child of the client */
		} else if (sh.n) {
			x = shared_find(&sh, s->parent_span_id);
			if (x)
				parent = x->new_id;   /* a child of the server record */
		}
		comma_unless_first(b, i);
		jaeger_span(b, s, m.span_proc[i], id, parent);
	}
	tm_buf_add_str(b, "],\"processes\":{");
	for (size_t i = 0; i < m.n_procs; i++)
		jaeger_process(b, i, m.reps[i]);
	tm_buf_add_str(b, "},\"warnings\":null}");
	free(sh.items);
	free(sh.is_server);
	proc_map_free(&m);
}

void tm_jaeger_write_traces(struct tm_buf *out, const struct tm_trace *traces, size_t n)
{
	tm_buf_add_str(out, "{\"data\":[");
	for (size_t i = 0; i < n; i++) {
		comma_unless_first(out, i);
		jaeger_trace(out, &traces[i]);
	}
	tm_buf_add_str(out, "],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
}

void tm_jaeger_write_error(struct tm_buf *out, int http_code, const char *msg)
{
	tm_buf_add_str(out, "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{");
	if (http_code) {
		tm_buf_add_str(out, "\"code\":");
		tm_json_int(out, http_code);
		tm_buf_add(out, ",", 1);
	}
	tm_buf_add_str(out, "\"msg\":");
	tm_json_cstr(out, msg);
	tm_buf_add_str(out, "}]}");
}

/*---- OTLP/JSON: values ----*/

static void otlp_kv_array(struct tm_buf *b, const struct tm_attr *items, size_t n);

static void otlp_any(struct tm_buf *b, const struct tm_value *v)
{
	switch (v->type) {
	case TM_VAL_STRING:
		tm_buf_add_str(b, "{\"stringValue\":");
		tm_json_tstr(b, &v->u.str);
		break;
	case TM_VAL_BOOL:
		tm_buf_add_str(b, "{\"boolValue\":");
		tm_json_bool(b, v->u.boolean);
		break;
	case TM_VAL_INT:
		tm_buf_add_str(b, "{\"intValue\":");
		tm_json_int_str(b, v->u.integer);
		break;
	case TM_VAL_DOUBLE:
		tm_buf_add_str(b, "{\"doubleValue\":");
		tm_json_double(b, v->u.dbl);
		break;
	case TM_VAL_BYTES:
		tm_buf_add_str(b, "{\"bytesValue\":");
		tm_json_base64(b, v->u.str.ptr, v->u.str.len);
		break;
	case TM_VAL_ARRAY:
		tm_buf_add_str(b, "{\"arrayValue\":{\"values\":[");
		for (size_t i = 0; i < v->u.array.n; i++) {
			comma_unless_first(b, i);
			otlp_any(b, &v->u.array.items[i]);
		}
		tm_buf_add_str(b, "]}");
		break;
	case TM_VAL_KVLIST:
		tm_buf_add_str(b, "{\"kvlistValue\":{\"values\":");
		otlp_kv_array(b, v->u.kvlist.items, v->u.kvlist.n);
		tm_buf_add(b, "}", 1);
		break;
	default: tm_buf_add(b, "{", 1); break;   /* empty value: {} */
	}
	tm_buf_add(b, "}", 1);
}

static void otlp_kv_array(struct tm_buf *b, const struct tm_attr *items, size_t n)
{
	tm_buf_add(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		comma_unless_first(b, i);
		tm_buf_add_str(b, "{\"key\":");
		tm_json_tstr(b, &items[i].key);
		tm_buf_add_str(b, ",\"value\":");
		otlp_any(b, &items[i].value);
		tm_buf_add(b, "}", 1);
	}
	tm_buf_add(b, "]", 1);
}

/* adds "attributes" and "droppedAttributesCount", each only when non-empty. */
static void otlp_attrs_fields(struct jobj *o, const struct tm_attrs *attrs)
{
	if (attrs->n) {
		obj_key(o, "attributes");
		otlp_kv_array(o->b, attrs->items, attrs->n);
	}
	if (attrs->dropped) {
		obj_key(o, "droppedAttributesCount");
		tm_json_uint(o->b, attrs->dropped);
	}
}

static void otlp_str_field(struct jobj *o, const char *key, const struct tm_str *s)
{
	if (s->len) {
		obj_key(o, key);
		tm_json_tstr(o->b, s);
	}
}

static void otlp_uint_field(struct jobj *o, const char *key, uint64_t v)
{
	if (v) {
		obj_key(o, key);
		tm_json_uint(o->b, v);
	}
}

/*---- OTLP/JSON: spans ----*/

static void otlp_event(struct tm_buf *b, const struct tm_event *e)
{
	struct jobj o;

	obj_open(&o, b);
	obj_key(&o, "timeUnixNano");
	tm_json_uint_str(b, e->time_ns);
	obj_key(&o, "name");
	tm_json_tstr(b, &e->name);
	otlp_attrs_fields(&o, &e->attrs);
	obj_close(&o);
}

static void otlp_link(struct tm_buf *b, const struct tm_link *l)
{
	struct jobj o;

	obj_open(&o, b);
	obj_key(&o, "traceId");
	tm_json_hex(b, l->trace_id, TM_TRACE_ID_LEN);
	obj_key(&o, "spanId");
	tm_json_hex(b, l->span_id, TM_SPAN_ID_LEN);
	otlp_str_field(&o, "traceState", &l->trace_state);
	otlp_attrs_fields(&o, &l->attrs);
	otlp_uint_field(&o, "flags", l->flags);
	obj_close(&o);
}

static void otlp_status(struct tm_buf *b, const struct tm_span *s)
{
	struct jobj o;

	obj_open(&o, b);
	otlp_str_field(&o, "message", &s->status_message);
	otlp_uint_field(&o, "code", s->status_code);
	obj_close(&o);
}

/* ids, name, kind and times: the fields up to attributes. */
static void otlp_span_head(struct jobj *o, const struct tm_span *s)
{
	struct tm_buf *b = o->b;

	obj_key(o, "traceId");
	tm_json_hex(b, s->trace_id, TM_TRACE_ID_LEN);
	obj_key(o, "spanId");
	tm_json_hex(b, s->span_id, TM_SPAN_ID_LEN);
	otlp_str_field(o, "traceState", &s->trace_state);
	if (s->has_parent) {
		obj_key(o, "parentSpanId");
		tm_json_hex(b, s->parent_span_id, TM_SPAN_ID_LEN);
	}
	otlp_uint_field(o, "flags", s->flags);
	obj_key(o, "name");
	tm_json_tstr(b, &s->name);
	obj_key(o, "kind");
	tm_json_uint(b, s->kind);
	obj_key(o, "startTimeUnixNano");
	tm_json_uint_str(b, s->start_ns);
	obj_key(o, "endTimeUnixNano");
	tm_json_uint_str(b, s->end_ns);
}

static void otlp_span(struct tm_buf *b, const struct tm_span *s)
{
	struct jobj o;

	obj_open(&o, b);
	otlp_span_head(&o, s);
	otlp_attrs_fields(&o, &s->attrs);
	if (s->n_events) {
		obj_key(&o, "events");
		tm_buf_add(b, "[", 1);
		for (size_t i = 0; i < s->n_events; i++) {
			comma_unless_first(b, i);
			otlp_event(b, &s->events[i]);
		}
		tm_buf_add(b, "]", 1);
	}
	otlp_uint_field(&o, "droppedEventsCount", s->dropped_events);
	if (s->n_links) {
		obj_key(&o, "links");
		tm_buf_add(b, "[", 1);
		for (size_t i = 0; i < s->n_links; i++) {
			comma_unless_first(b, i);
			otlp_link(b, &s->links[i]);
		}
		tm_buf_add(b, "]", 1);
	}
	otlp_uint_field(&o, "droppedLinksCount", s->dropped_links);
	obj_key(&o, "status");
	otlp_status(b, s);
	obj_close(&o);
}

/*---- OTLP/JSON: grouping by resource and scope ----*/

/* the spans of one (resource, scope) pair, chained through next_span. */
struct otlp_group {
	const struct tm_scope *scope;
	size_t first_span, last_span;
	size_t next_group;   /* next group of the same resource, or NONE */
};

struct otlp_res {
	const struct tm_resource *resource;
	size_t first_group, last_group;
};

/* every span of the request, arranged for output.  Each array holds at most
 * one entry per span, so all are sized by the span count. */
struct otlp_layout {
	const struct tm_span **spans;   /* input order */
	size_t *next_span;              /* next span of the same group, or NONE */
	struct otlp_group *groups;
	size_t n_groups;
	struct otlp_res *res;
	size_t n_res;
};

static void layout_free(struct otlp_layout *L)
{
	free(L->spans);
	free(L->next_span);
	free(L->groups);
	free(L->res);
}

static size_t layout_find_res(struct otlp_layout *L, const struct tm_resource *r)
{
	for (size_t i = 0; i < L->n_res; i++)
		if (L->res[i].resource == r)
			return i;
	L->res[L->n_res] = (struct otlp_res){ r, NONE, NONE };
	return L->n_res++;
}

static size_t layout_find_group(struct otlp_layout *L, size_t ri, const struct tm_scope *scope)
{
	struct otlp_res *r = &L->res[ri];
	size_t g;

	for (g = r->first_group; g != NONE; g = L->groups[g].next_group)
		if (L->groups[g].scope == scope)
			return g;
	g = L->n_groups++;
	L->groups[g] = (struct otlp_group){ scope, NONE, NONE, NONE };
	if (r->last_group == NONE)
		r->first_group = g;
	else
		L->groups[r->last_group].next_group = g;
	r->last_group = g;
	return g;
}

static void layout_append(struct otlp_layout *L, size_t g, size_t k)
{
	struct otlp_group *grp = &L->groups[g];

	L->next_span[k] = NONE;
	if (grp->last_span == NONE)
		grp->first_span = k;
	else
		L->next_span[grp->last_span] = k;
	grp->last_span = k;
}

/* puts every span into its group; returns 0 or -1 when out of memory. */
static int layout_build(struct otlp_layout *L, const struct tm_trace *traces, size_t n)
{
	size_t total = 0, k = 0, ri = NONE, g = NONE;

	for (size_t t = 0; t < n; t++)
		total += traces[t].n_spans;
	total = total ? total : 1;
	*L = (struct otlp_layout){ 0 };
	L->spans = malloc(total * sizeof(*L->spans));
	L->next_span = malloc(total * sizeof(*L->next_span));
	L->groups = malloc(total * sizeof(*L->groups));
	L->res = malloc(total * sizeof(*L->res));
	if (!L->spans || !L->next_span || !L->groups || !L->res)
		return -1;
	for (size_t t = 0; t < n; t++) {
		for (size_t i = 0; i < traces[t].n_spans; i++, k++) {
			const struct tm_span *s = &traces[t].spans[i];
			/* neighbours usually share both pointers: skip the search */
			if (g == NONE || s->resource != L->res[ri].resource ||
			    s->scope != L->groups[g].scope) {
				ri = layout_find_res(L, s->resource);
				g = layout_find_group(L, ri, s->scope);
			}
			L->spans[k] = s;
			layout_append(L, g, k);
		}
	}
	return 0;
}

/*---- OTLP/JSON: resource and scope ----*/

static void otlp_scope_spans(struct tm_buf *b, const struct otlp_layout *L, size_t g)
{
	const struct otlp_group *grp = &L->groups[g];
	const struct tm_scope *scope = grp->scope;
	struct jobj o, so;

	obj_open(&o, b);
	if (scope) {
		obj_key(&o, "scope");
		obj_open(&so, b);
		otlp_str_field(&so, "name", &scope->name);
		otlp_str_field(&so, "version", &scope->version);
		otlp_attrs_fields(&so, &scope->attrs);
		obj_close(&so);
	}
	obj_key(&o, "spans");
	tm_buf_add(b, "[", 1);
	for (size_t k = grp->first_span; k != NONE; k = L->next_span[k]) {
		comma_unless_first(b, k != grp->first_span);
		otlp_span(b, L->spans[k]);
	}
	tm_buf_add(b, "]", 1);
	if (scope)
		otlp_str_field(&o, "schemaUrl", &scope->schema_url);
	obj_close(&o);
}

static void otlp_resource_spans(struct tm_buf *b, const struct otlp_layout *L, size_t ri)
{
	const struct otlp_res *r = &L->res[ri];
	struct jobj o, ro;

	obj_open(&o, b);
	if (r->resource) {
		obj_key(&o, "resource");
		obj_open(&ro, b);
		otlp_attrs_fields(&ro, &r->resource->attrs);
		obj_close(&ro);
	}
	obj_key(&o, "scopeSpans");
	tm_buf_add(b, "[", 1);
	for (size_t g = r->first_group; g != NONE; g = L->groups[g].next_group) {
		comma_unless_first(b, g != r->first_group);
		otlp_scope_spans(b, L, g);
	}
	tm_buf_add(b, "]", 1);
	if (r->resource)
		otlp_str_field(&o, "schemaUrl", &r->resource->schema_url);
	obj_close(&o);
}

void tm_otlpjson_write_traces(struct tm_buf *out, const struct tm_trace *traces, size_t n)
{
	struct otlp_layout L;

	if (layout_build(&L, traces, n) < 0) {
		layout_free(&L);
		out->failed = 1;
		return;
	}
	tm_buf_add_str(out, "{\"result\":{\"resourceSpans\":[");
	for (size_t ri = 0; ri < L.n_res; ri++) {
		comma_unless_first(out, ri);
		otlp_resource_spans(out, &L, ri);
	}
	tm_buf_add_str(out, "]}}");
	layout_free(&L);
}

void tm_otlpjson_write_error(struct tm_buf *out, int http_code, const char *msg)
{
	tm_buf_add_str(out, "{\"error\":{\"httpCode\":");
	tm_json_int(out, http_code);
	tm_buf_add_str(out, ",\"message\":");
	tm_json_cstr(out, msg);
	tm_buf_add_str(out, "}}");
}
