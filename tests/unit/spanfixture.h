/* spanfixture.h - a span that uses every field of the model, and a deep
 * comparison, shared by the storage unit tests.  Header-only: each test is
 * one translation unit. */
#ifndef TM_SPANFIXTURE_H
#define TM_SPANFIXTURE_H

#include <math.h>
#include <string.h>

#include "span.h"

#define S(lit) ((struct tm_str){ (lit), sizeof(lit) - 1 })

static int str_eq(struct tm_str a, struct tm_str b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

static int attrs_eq(const struct tm_attrs *a, const struct tm_attrs *b);

static int value_eq(const struct tm_value *a, const struct tm_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case TM_VAL_EMPTY:
		return 1;
	case TM_VAL_STRING:
	case TM_VAL_BYTES:
		return str_eq(a->u.str, b->u.str);
	case TM_VAL_BOOL:
		return !a->u.boolean == !b->u.boolean;
	case TM_VAL_INT:
		return a->u.integer == b->u.integer;
	case TM_VAL_DOUBLE:
		/* bit-exact, so NaN and -0.0 round-trip too */
		return !memcmp(&a->u.dbl, &b->u.dbl, sizeof(double));
	case TM_VAL_ARRAY:
		if (a->u.array.n != b->u.array.n)
			return 0;
		for (size_t i = 0; i < a->u.array.n; i++)
			if (!value_eq(&a->u.array.items[i], &b->u.array.items[i]))
				return 0;
		return 1;
	case TM_VAL_KVLIST: {
		struct tm_attrs x = { a->u.kvlist.items, a->u.kvlist.n, 0 };
		struct tm_attrs y = { b->u.kvlist.items, b->u.kvlist.n, 0 };
		return attrs_eq(&x, &y);
	}
	}
	return 0;
}

static int attrs_eq(const struct tm_attrs *a, const struct tm_attrs *b)
{
	if (a->n != b->n || a->dropped != b->dropped)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!str_eq(a->items[i].key, b->items[i].key) ||
		    !value_eq(&a->items[i].value, &b->items[i].value))
			return 0;
	return 1;
}

static int span_eq(const struct tm_span *a, const struct tm_span *b)
{
	if (memcmp(a->trace_id, b->trace_id, 16) || memcmp(a->span_id, b->span_id, 8) ||
	    a->has_parent != b->has_parent ||
	    (a->has_parent && memcmp(a->parent_span_id, b->parent_span_id, 8)) ||
	    !str_eq(a->trace_state, b->trace_state) || !str_eq(a->name, b->name) ||
	    a->kind != b->kind || a->flags != b->flags || a->start_ns != b->start_ns ||
	    a->end_ns != b->end_ns || !attrs_eq(&a->attrs, &b->attrs) ||
	    a->n_events != b->n_events || a->dropped_events != b->dropped_events ||
	    a->n_links != b->n_links || a->dropped_links != b->dropped_links ||
	    a->status_code != b->status_code || !str_eq(a->status_message, b->status_message))
		return 0;
	for (size_t i = 0; i < a->n_events; i++)
		if (a->events[i].time_ns != b->events[i].time_ns ||
		    !str_eq(a->events[i].name, b->events[i].name) ||
		    !attrs_eq(&a->events[i].attrs, &b->events[i].attrs))
			return 0;
	for (size_t i = 0; i < a->n_links; i++)
		if (memcmp(a->links[i].trace_id, b->links[i].trace_id, 16) ||
		    memcmp(a->links[i].span_id, b->links[i].span_id, 8) ||
		    !str_eq(a->links[i].trace_state, b->links[i].trace_state) ||
		    a->links[i].flags != b->links[i].flags ||
		    !attrs_eq(&a->links[i].attrs, &b->links[i].attrs))
			return 0;
	return 1;
}

/* storage for the fixture's arrays; one per test file is enough */
static struct tm_value fx_inner[3];
static struct tm_attr fx_kv[2];
static struct tm_attr fx_attrs[10];
static struct tm_attr fx_event_attrs[2];
static struct tm_event fx_events[2];
static struct tm_attr fx_link_attrs[1];
static struct tm_link fx_links[1];

/* fills *s with a span that has every kind of field; seed varies the ids */
static void fixture_span(struct tm_span *s, unsigned seed)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(0xa0 + i + seed * 7);
	for (int i = 0; i < 8; i++) {
		s->span_id[i] = (uint8_t)(0x10 + i + seed);
		s->parent_span_id[i] = (uint8_t)(0x50 + i);
	}
	s->has_parent = 1;
	s->trace_state = S("congo=t61rcWkgMzE");
	s->name = S("GET /cart/{id}");
	s->kind = TM_KIND_SERVER;
	s->flags = 0x301;
	s->start_ns = 1700000000123456789ull + seed;
	s->end_ns = s->start_ns + 42000000;
	fx_inner[0] = (struct tm_value){ .type = TM_VAL_STRING, .u.str = S("a") };
	fx_inner[1] = (struct tm_value){ .type = TM_VAL_INT, .u.integer = -1 };
	fx_inner[2] = (struct tm_value){ .type = TM_VAL_BOOL, .u.boolean = 1 };
	fx_kv[0] = (struct tm_attr){ S("k"), { .type = TM_VAL_STRING, .u.str = S("v") } };
	fx_kv[1] = (struct tm_attr){ S("n"), { .type = TM_VAL_ARRAY, .u.array = { fx_inner, 3 } } };
	fx_attrs[0] = (struct tm_attr){ S("http.method"), { .type = TM_VAL_STRING, .u.str = S("GET") } };
	fx_attrs[1] = (struct tm_attr){ S("ok"), { .type = TM_VAL_BOOL, .u.boolean = 0 } };
	fx_attrs[2] = (struct tm_attr){ S("min"), { .type = TM_VAL_INT, .u.integer = INT64_MIN } };
	fx_attrs[3] = (struct tm_attr){ S("max"), { .type = TM_VAL_INT, .u.integer = INT64_MAX } };
	fx_attrs[4] = (struct tm_attr){ S("pi"), { .type = TM_VAL_DOUBLE, .u.dbl = 3.141592653589793 } };
	fx_attrs[5] = (struct tm_attr){ S("nan"), { .type = TM_VAL_DOUBLE, .u.dbl = NAN } };
	fx_attrs[6] = (struct tm_attr){ S("raw"), { .type = TM_VAL_BYTES, .u.str = { "\0\1\2\377", 4 } } };
	fx_attrs[7] = (struct tm_attr){ S("list"), { .type = TM_VAL_ARRAY, .u.array = { fx_inner, 3 } } };
	fx_attrs[8] = (struct tm_attr){ S("map"), { .type = TM_VAL_KVLIST, .u.kvlist = { fx_kv, 2 } } };
	fx_attrs[9] = (struct tm_attr){ S("empty"), { .type = TM_VAL_EMPTY } };
	s->attrs = (struct tm_attrs){ fx_attrs, 10, 3 };
	fx_event_attrs[0] = (struct tm_attr){ S("exception.type"), { .type = TM_VAL_STRING, .u.str = S("IOError") } };
	fx_event_attrs[1] = (struct tm_attr){ S("exception.message"), { .type = TM_VAL_STRING, .u.str = S("disk <full> & \"gone\"") } };
	fx_events[0] = (struct tm_event){ s->start_ns + 5, S("exception"), { fx_event_attrs, 2, 0 } };
	fx_events[1] = (struct tm_event){ s->start_ns + 6, S(""), { NULL, 0, 1 } };
	s->events = fx_events;
	s->n_events = 2;
	s->dropped_events = 4;
	memset(&fx_links[0], 0, sizeof(fx_links[0]));
	memset(fx_links[0].trace_id, 0x77, 16);
	memset(fx_links[0].span_id, 0x66, 8);
	fx_links[0].trace_state = S("a=b");
	fx_links[0].flags = 0x101;
	fx_link_attrs[0] = (struct tm_attr){ S("opentracing.ref_type"), { .type = TM_VAL_STRING, .u.str = S("follows_from") } };
	fx_links[0].attrs = (struct tm_attrs){ fx_link_attrs, 1, 0 };
	s->links = fx_links;
	s->n_links = 1;
	s->dropped_links = 5;
	s->status_code = TM_STATUS_ERROR;
	s->status_message = S("boom");
}

#endif
