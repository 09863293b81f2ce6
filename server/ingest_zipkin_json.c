/* ingest_zipkin_json.c - Zipkin v2 JSON (POST /api/v2/spans), and the JSON
 * readers the v1 decoder shares.
 *
 * jansson parses the body (its parser refuses nesting deeper than
 * JSON_PARSER_MAX_DEPTH, 2048, so hostile bodies cannot exhaust the stack;
 * Zipkin values themselves are flat).  Keys are looked up by name, so their
 * order does not matter and unknown keys are ignored; null means absent.
 * Any value of the wrong type or an ID of the wrong length refuses the
 * whole body with a message naming the field, as Zipkin's server does. */
#include "ingest_zipkin.h"
#include "ingest_zipkin_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*---- values ----*/

const char *zk_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int wrong_type(struct tm_ingest_report *r, const char *where, const char *key,
		      const char *want, const json_t *v)
{
	return zk_bad(r, "%s.%s: expected %s, got %s", where, key, want, zk_json_type_name(v));
}

/* obj[key], or NULL when absent or null */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v && !json_is_null(v) ? v : NULL;
}

static struct tm_str str_view(const json_t *v)
{
	struct tm_str s = { json_string_value(v), json_string_length(v) };
	return s;
}

int zk_json_str(struct tm_ingest_report *r, const char *where, json_t *obj, const char *key,
		struct tm_str *out)
{
	json_t *v = field(obj, key);
	out->ptr = "";
	out->len = 0;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return wrong_type(r, where, key, "a string", v);
	*out = str_view(v);
	return 0;
}

/* a non-negative integer.  A number with a fraction is rounded to the
 * nearest integer: the OpenTelemetry JS Zipkin exporter sends span starts
 * as fractional microseconds (hrTimeToMicroseconds, not rounded), which
 * Zipkin's own server refuses. */
int zk_json_u64(struct tm_ingest_report *r, const char *where, json_t *obj, const char *key,
		int required, uint64_t *out)
{
	json_t *v = field(obj, key);
	*out = 0;
	if (!v)
		return required ? zk_bad(r, "%s.%s is missing", where, key) : 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= 0 && d < 18446744073709551616.0) {
			*out = (uint64_t)(d + 0.5);
			return 0;
		}
	}
	if (json_is_number(v))
		return zk_bad(r, "%s.%s: expected a non-negative integer, got %g", where, key,
			      json_number_value(v));
	return wrong_type(r, where, key, "a non-negative integer", v);
}

int zk_json_bool(struct tm_ingest_report *r, const char *where, json_t *obj, const char *key,
		 int *out)
{
	json_t *v = field(obj, key);
	*out = 0;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(r, where, key, "a boolean", v);
	*out = json_is_true(v);
	return 0;
}

/*---- IDs ----*/

static int hex_field(struct tm_ingest_report *r, const char *where, json_t *obj,
		     const char *key, json_t **v)
{
	*v = field(obj, key);
	if (*v && !json_is_string(*v))
		return wrong_type(r, where, key, "a hex string", *v);
	return 0;
}

static int not_hex(struct tm_ingest_report *r, const char *where, const char *key,
		   const json_t *v)
{
	return zk_bad(r, "%s.%s: \"%.40s\" is not a hex ID", where, key, json_string_value(v));
}

/* 32 hex digits, or 16 for a 64-bit trace ID, left-padded with zeros */
int zk_json_trace_id(struct tm_ingest_report *r, const char *where, json_t *obj,
		     uint8_t out[TM_TRACE_ID_LEN])
{
	json_t *v;
	if (hex_field(r, where, obj, "traceId", &v))
		return -EBADMSG;
	if (!v)
		return zk_bad(r, "%s.traceId is missing", where);
	size_t len = json_string_length(v);
	memset(out, 0, TM_TRACE_ID_LEN);
	if (len != 16 && len != 32)
		return zk_bad(r, "%s.traceId: expected 16 or 32 hex digits, got %zu characters",
			      where, len);
	uint8_t *dst = out + TM_TRACE_ID_LEN - len / 2;
	if (tm_hex_decode(json_string_value(v), len, dst, len / 2))
		return not_hex(r, where, "traceId", v);
	return 0;
}

int zk_json_span_id(struct tm_ingest_report *r, const char *where, json_t *obj,
		    const char *key, int required, uint8_t out[TM_SPAN_ID_LEN], int *present)
{
	json_t *v;
	memset(out, 0, TM_SPAN_ID_LEN);
	*present = 0;
	if (hex_field(r, where, obj, key, &v))
		return -EBADMSG;
	/* Zipkin: an empty string is no value */
	if (!v || (!required && json_string_length(v) == 0))
		return required ? zk_bad(r, "%s.%s is missing", where, key) : 0;
	size_t len = json_string_length(v);
	if (len != 2 * TM_SPAN_ID_LEN)
		return zk_bad(r, "%s.%s: expected 16 hex digits, got %zu characters", where, key,
			      len);
	if (tm_hex_decode(json_string_value(v), len, out, TM_SPAN_ID_LEN))
		return not_hex(r, where, key, v);
	*present = 1;
	return 0;
}

/*---- endpoints, annotations, tags ----*/

int zk_json_endpoint(struct tm_ingest_report *r, const char *where, json_t *obj,
		     const char *key, struct zk_endpoint *out, int *present)
{
	json_t *v = field(obj, key);
	char at[96];
	uint64_t port;

	memset(out, 0, sizeof(*out));
	out->service = out->ipv4 = out->ipv6 = tm_str_from("");
	*present = 0;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong_type(r, where, key, "an object", v);
	snprintf(at, sizeof(at), "%s.%s", where, key);
	if (zk_json_str(r, at, v, "serviceName", &out->service) ||
	    zk_json_str(r, at, v, "ipv4", &out->ipv4) ||
	    zk_json_str(r, at, v, "ipv6", &out->ipv6) ||
	    zk_json_u64(r, at, v, "port", 0, &port))
		return -EBADMSG;
	if (port > 65535)
		return zk_bad(r, "%s.port: %llu is not a port number", at,
			      (unsigned long long)port);
	out->port = (int32_t)port;
	/* Zipkin: an endpoint with none of its fields is no endpoint */
	*present = out->service.len || out->ipv4.len || out->ipv6.len || out->port;
	return 0;
}

int zk_json_annotation(struct tm_ingest_report *r, const char *where, json_t *obj,
		       struct zk_annotation *out)
{
	if (!json_is_object(obj))
		return zk_bad(r, "%s: expected an object, got %s", where, zk_json_type_name(obj));
	if (zk_json_u64(r, where, obj, "timestamp", 1, &out->timestamp_us) ||
	    zk_json_str(r, where, obj, "value", &out->value))
		return -EBADMSG;
	if (!field(obj, "value"))
		return zk_bad(r, "%s.value is missing", where);
	return 0;
}

/* the array obj[key] (NULL when absent), checked to be one */
int zk_json_array(struct tm_ingest_report *r, const char *where, json_t *obj, const char *key,
		  json_t **out)
{
	*out = field(obj, key);
	if (*out && !json_is_array(*out))
		return wrong_type(r, where, key, "an array", *out);
	return 0;
}

static int parse_annotations(struct tm_ingest_report *r, struct tm_arena *arena,
			     const char *where, json_t *obj, struct zk_span *z)
{
	json_t *list;
	char at[96];
	if (zk_json_array(r, where, obj, "annotations", &list))
		return -EBADMSG;
	size_t n = list ? json_array_size(list) : 0;
	if (!n)
		return 0;
	z->annotations = tm_arena_alloc(arena, n * sizeof(*z->annotations));
	if (!z->annotations)
		return -ENOMEM;
	z->n_annotations = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(at, sizeof(at), "%s.annotations[%zu]", where, i);
		if (zk_json_annotation(r, at, json_array_get(list, i), &z->annotations[i]))
			return -EBADMSG;
	}
	return 0;
}

static int parse_tags(struct tm_ingest_report *r, struct tm_arena *arena, const char *where,
		      json_t *obj, struct zk_span *z)
{
	json_t *tags = field(obj, "tags"), *v;
	const char *key;
	size_t key_len;

	if (!tags)
		return 0;
	if (!json_is_object(tags))
		return wrong_type(r, where, "tags", "an object", tags);
	size_t n = json_object_size(tags);
	if (!n)
		return 0;
	z->tags = tm_arena_alloc(arena, n * sizeof(*z->tags));
	if (!z->tags)
		return -ENOMEM;
	json_object_keylen_foreach(tags, key, key_len, v) {
		if (!json_is_string(v))
			return zk_bad(r, "%s.tags[\"%.40s\"]: expected a string, got %s", where,
				      key, zk_json_type_name(v));
		struct zk_tag *t = &z->tags[z->n_tags++];
		t->key.ptr = key;
		t->key.len = key_len;
		t->value = str_view(v);
	}
	return 0;
}

/*---- the body ----*/

static int is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", p[i]) || !p[i])
			return 0;
	return 1;
}

int zk_json_load(const void *body, size_t len, struct tm_ingest_report *r, json_t **out)
{
	json_error_t err;

	*out = NULL;
	if (is_blank(body, len))
		return 0;   /* Zipkin answers an empty body with 202 too */
	json_t *root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!root)
		return zk_bad(r, "malformed JSON at line %d, column %d: %s", err.line, err.column,
			      err.text);
	if (!json_is_array(root)) {
		zk_bad(r, "expected a JSON array of spans, got %s", zk_json_type_name(root));
		json_decref(root);
		return -EBADMSG;
	}
	*out = root;
	return 0;
}

/*---- v2 spans ----*/

static int parse_kind(struct tm_ingest_report *r, const char *where, json_t *obj, uint8_t *kind)
{
	static const struct { const char *name; uint8_t kind; } kinds[] = {
		{ "CLIENT", TM_KIND_CLIENT }, { "SERVER", TM_KIND_SERVER },
		{ "PRODUCER", TM_KIND_PRODUCER }, { "CONSUMER", TM_KIND_CONSUMER },
	};
	struct tm_str s;
	*kind = TM_KIND_INTERNAL;
	if (zk_json_str(r, where, obj, "kind", &s))
		return -EBADMSG;
	if (!field(obj, "kind"))
		return 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (tm_str_eq(s, tm_str_from(kinds[i].name))) {
			*kind = kinds[i].kind;
			return 0;
		}
	return zk_bad(r, "%s.kind: \"%.20s\" is not CLIENT, SERVER, PRODUCER or CONSUMER", where,
		      s.ptr);
}

static int parse_v2_fields(struct tm_ingest_report *r, const char *where, json_t *obj,
			   struct zk_span *z)
{
	int present;
	if (zk_json_trace_id(r, where, obj, z->trace_id) ||
	    zk_json_span_id(r, where, obj, "id", 1, z->id, &present) ||
	    zk_json_span_id(r, where, obj, "parentId", 0, z->parent_id, &z->has_parent) ||
	    zk_json_str(r, where, obj, "name", &z->name) || parse_kind(r, where, obj, &z->kind) ||
	    zk_json_u64(r, where, obj, "timestamp", 0, &z->timestamp_us) ||
	    zk_json_u64(r, where, obj, "duration", 0, &z->duration_us) ||
	    zk_json_bool(r, where, obj, "debug", &z->is_debug) ||
	    zk_json_bool(r, where, obj, "shared", &z->is_shared) ||
	    zk_json_endpoint(r, where, obj, "localEndpoint", &z->local, &present) ||
	    zk_json_endpoint(r, where, obj, "remoteEndpoint", &z->remote, &present))
		return -EBADMSG;
	/* Zipkin: an all-zero parentId means a root */
	if (z->has_parent && tm_id_is_zero(z->parent_id, TM_SPAN_ID_LEN))
		z->has_parent = 0;
	return 0;
}

static int parse_v2_span(struct tm_ingest_report *r, struct tm_arena *arena, json_t *obj,
			 size_t index, struct zk_span *z)
{
	char where[32];
	snprintf(where, sizeof(where), "spans[%zu]", index);
	memset(z, 0, sizeof(*z));
	if (!json_is_object(obj))
		return zk_bad(r, "%s: expected an object, got %s", where, zk_json_type_name(obj));
	int rc = parse_v2_fields(r, where, obj, z);
	if (!rc)
		rc = parse_annotations(r, arena, where, obj, z);
	if (!rc)
		rc = parse_tags(r, arena, where, obj, z);
	return rc;
}

int tm_ingest_zipkin_v2_json(const void *body, size_t len, struct tm_arena *arena,
			     struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct zk_sink sink;
	json_t *root;

	zk_sink_init(&sink, arena, batch, report);
	int rc = zk_json_load(body, len, report, &root);
	size_t n = root ? json_array_size(root) : 0;
	for (size_t i = 0; !rc && i < n; i++) {
		struct zk_span z;
		rc = parse_v2_span(report, arena, json_array_get(root, i), i, &z);
		if (!rc)
			rc = zk_sink_add(&sink, &z, i);
	}
	json_decref(root);
	return zk_sink_done(&sink, rc);
}
