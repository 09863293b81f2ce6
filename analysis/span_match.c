/* span_match.c - exact matching of spans against query conditions. */
#include "span_match.h"

#include <string.h>

#include "search_hash.h"

static int str_is(struct tm_str s, const char *lit)
{
	return tm_str_eq(s, tm_str_from(lit));
}

int tm_value_matches_text(const struct tm_value *v, struct tm_str text)
{
	int64_t i;
	double d;
	switch (v->type) {
	case TM_VAL_STRING:
		return tm_str_eq(v->u.str, text);
	case TM_VAL_BOOL:
		return str_is(text, v->u.boolean ? "true" : "false");
	case TM_VAL_INT:
		return !tm_text_to_int(text, &i) && i == v->u.integer;
	case TM_VAL_DOUBLE:
		return !tm_text_to_double(text, &d) && d == v->u.dbl;
	default:
		return 0;
	}
}

static int attrs_match(const struct tm_attrs *a, struct tm_str key, struct tm_str text)
{
	for (size_t i = 0; i < a->n; i++)
		if (tm_str_eq(a->items[i].key, key) &&
		    tm_value_matches_text(&a->items[i].value, text))
			return 1;
	return 0;
}

static int attrs_have_key(const struct tm_attrs *a, struct tm_str key)
{
	for (size_t i = 0; i < a->n; i++)
		if (tm_str_eq(a->items[i].key, key))
			return 1;
	return 0;
}

const char *tm_span_kind_name(unsigned kind)
{
	static const char *const names[] = { "", "internal", "server", "client", "producer",
					     "consumer" };
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "";
}

struct tm_str tm_span_service(const struct tm_span *s)
{
	const struct tm_str *v = s->resource ? tm_attrs_get_str(&s->resource->attrs, "service.name")
					     : NULL;
	return v ? *v : (struct tm_str){ "", 0 };
}

static int status_text_matches(const struct tm_span *s, struct tm_str text)
{
	static const char *const names[] = { "unset", "ok", "error" };
	return s->status_code < 3 && str_is(text, names[s->status_code]);
}

static int kind_text_matches(const struct tm_span *s, struct tm_str text)
{
	const char *name = s->kind ? tm_span_kind_name(s->kind) : "unspecified";
	return str_is(text, name);
}

int tm_span_matches_jaeger_tag(const struct tm_span *s, struct tm_str key, struct tm_str text)
{
	static const char resource_prefix[] = "resource.";
	if (str_is(key, "error") && (str_is(text, "true") || str_is(text, "false")))
		return (s->status_code == TM_STATUS_ERROR) == str_is(text, "true");
	if (str_is(key, "span.kind"))
		return kind_text_matches(s, text);
	if (str_is(key, "span.status"))
		return status_text_matches(s, text);
	if (str_is(key, "scope.name") && s->scope)
		return tm_str_eq(s->scope->name, text);
	if (str_is(key, "scope.version") && s->scope)
		return tm_str_eq(s->scope->version, text);
	if (key.len > sizeof(resource_prefix) - 1 &&
	    !memcmp(key.ptr, resource_prefix, sizeof(resource_prefix) - 1)) {
		struct tm_str k = { key.ptr + sizeof(resource_prefix) - 1,
				    key.len - (sizeof(resource_prefix) - 1) };
		return s->resource && attrs_match(&s->resource->attrs, k, text);
	}
	if (attrs_match(&s->attrs, key, text))
		return 1;
	if (s->scope && attrs_match(&s->scope->attrs, key, text))
		return 1;
	if (s->resource && attrs_match(&s->resource->attrs, key, text))
		return 1;
	for (size_t i = 0; i < s->n_events; i++)
		if (attrs_match(&s->events[i].attrs, key, text))
			return 1;
	for (size_t i = 0; i < s->n_links; i++)
		if (attrs_match(&s->links[i].attrs, key, text))
			return 1;
	return 0;
}

/* Zipkin's tags add otel.status_code and error to the attributes, and those
 * win over attributes of the same name (the status is the truth) */
int tm_span_matches_zipkin_term(const struct tm_span *s, struct tm_str key, struct tm_str text,
				int bare)
{
	int failed = s->status_code == TM_STATUS_ERROR;
	if (bare) {
		for (size_t i = 0; i < s->n_events; i++)
			if (tm_str_eq(s->events[i].name, key))
				return 1;
		if (str_is(key, "error"))
			return failed || attrs_have_key(&s->attrs, key);
		if (str_is(key, "otel.status_code"))
			return s->status_code == TM_STATUS_OK || failed;
		return attrs_have_key(&s->attrs, key);
	}
	if (str_is(key, "error") && failed)
		return tm_str_eq(s->status_message, text);
	if (str_is(key, "otel.status_code") && s->status_code != TM_STATUS_UNSET)
		return str_is(text, failed ? "ERROR" : "OK");
	return attrs_match(&s->attrs, key, text);
}
