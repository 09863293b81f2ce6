/* ingest_zipkin_v1.c - Zipkin v1 JSON (POST /api/v1/spans), which zipkin-js
 * sends by default, converted into v2 spans the way Zipkin's own
 * V1SpanConverter does.
 *
 * A v1 span is one span id seen by any number of hosts: its annotations and
 * binary annotations each carry the endpoint that recorded them.  The core
 * annotations say who played which role:
 *   cs/cr  client (send, receive)      sr/ss  server (receive, send)
 *   ms/ws  producer (send, wire send)  wr/mr  consumer (wire receive, receive)
 * Each role becomes one v2 span whose local endpoint is the role's, timed by
 * its begin and end annotations.  The span's own timestamp/duration belong
 * to the client (or to the only role).  When both client and server are in
 * one span, the server side is a B3 shared span; so is a server side alone
 * without its own timestamp (zipkin-js reports each side separately and
 * leaves the timestamp to the client).  Binary annotations become tags of
 * the side whose endpoint they carry; the address annotations ca/sa/ma
 * become the remote endpoint of the server, client, and messaging sides.
 * Other annotations become events of the side of their endpoint. */
#include "ingest_zipkin.h"
#include "ingest_zipkin_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum core { CS, CR, SR, SS, MS, WS, WR, MR, N_CORE };
enum role { CLIENT, SERVER, PRODUCER, CONSUMER, N_ROLES };

static const char *const core_names[N_CORE] = { "cs", "cr", "sr", "ss", "ms", "ws", "wr", "mr" };
static const uint8_t role_kinds[N_ROLES] = { TM_KIND_CLIENT, TM_KIND_SERVER, TM_KIND_PRODUCER,
					     TM_KIND_CONSUMER };

struct v1_annotation {
	struct zk_annotation a;
	struct zk_endpoint ep;
	int has_ep;
	int side;           /* -1 unassigned, -2 consumed as a core annotation */
};

struct v1_binary {
	struct tm_str key;
	struct tm_str value;
	struct zk_endpoint ep;
	int has_ep;
	int side;           /* -1 for address annotations */
};

struct v1_span {
	struct zk_span base;          /* ids, name, debug */
	uint64_t timestamp_us, duration_us;
	struct v1_annotation *anns;
	size_t n_anns;
	struct v1_binary *bins;
	size_t n_bins;
};

/*---- reading ----*/

static int parse_annotation(struct tm_ingest_report *r, const char *where, json_t *obj,
			    struct v1_annotation *out)
{
	memset(out, 0, sizeof(*out));
	out->side = -1;
	if (zk_json_annotation(r, where, obj, &out->a) ||
	    zk_json_endpoint(r, where, obj, "endpoint", &out->ep, &out->has_ep))
		return -EBADMSG;
	return 0;
}

/* binary annotation values were typed in v1; every tag is a string now */
static int binary_value(struct tm_ingest_report *r, struct tm_arena *arena, const char *where,
			json_t *v, struct tm_str *out)
{
	char num[40];
	if (json_is_string(v)) {
		out->ptr = json_string_value(v);
		out->len = json_string_length(v);
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = tm_str_from(json_is_true(v) ? "true" : "false");
		return 0;
	}
	if (!v || !json_is_number(v))
		return zk_bad(r, "%s.value: expected a string, boolean or number, got %s", where,
			      v ? zk_json_type_name(v) : "nothing");
	if (json_is_integer(v))
		snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(v));
	else
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
	out->len = strlen(num);
	out->ptr = tm_arena_dup(arena, num, out->len);
	return out->ptr ? 0 : -ENOMEM;
}

static int parse_binary(struct tm_ingest_report *r, struct tm_arena *arena, const char *where,
			json_t *obj, struct v1_binary *out)
{
	memset(out, 0, sizeof(*out));
	out->side = -1;
	if (!json_is_object(obj))
		return zk_bad(r, "%s: expected an object, got %s", where, zk_json_type_name(obj));
	if (zk_json_str(r, where, obj, "key", &out->key) ||
	    zk_json_endpoint(r, where, obj, "endpoint", &out->ep, &out->has_ep))
		return -EBADMSG;
	if (!json_is_string(json_object_get(obj, "key")))
		return zk_bad(r, "%s.key is missing", where);
	return binary_value(r, arena, where, json_object_get(obj, "value"), &out->value);
}

/* obj[key] as an array of n items of item_size bytes each, in the arena */
static int parse_array(struct tm_ingest_report *r, struct tm_arena *arena, const char *where,
		       json_t *obj, const char *key, size_t item_size, json_t **list,
		       void **items, size_t *n)
{
	if (zk_json_array(r, where, obj, key, list))
		return -EBADMSG;
	*n = *list ? json_array_size(*list) : 0;
	*items = *n ? tm_arena_alloc(arena, *n * item_size) : NULL;
	return *n && !*items ? -ENOMEM : 0;
}

static int parse_lists(struct tm_ingest_report *r, struct tm_arena *arena, const char *where,
		       json_t *obj, struct v1_span *s)
{
	json_t *list;
	void *items;
	char at[96];
	int rc = parse_array(r, arena, where, obj, "annotations", sizeof(*s->anns), &list, &items,
			     &s->n_anns);
	s->anns = items;
	for (size_t i = 0; !rc && i < s->n_anns; i++) {
		snprintf(at, sizeof(at), "%s.annotations[%zu]", where, i);
		rc = parse_annotation(r, at, json_array_get(list, i), &s->anns[i]);
	}
	if (!rc)
		rc = parse_array(r, arena, where, obj, "binaryAnnotations", sizeof(*s->bins), &list,
				 &items, &s->n_bins);
	s->bins = items;
	for (size_t i = 0; !rc && i < s->n_bins; i++) {
		snprintf(at, sizeof(at), "%s.binaryAnnotations[%zu]", where, i);
		rc = parse_binary(r, arena, at, json_array_get(list, i), &s->bins[i]);
	}
	return rc;
}

static int parse_v1_span(struct tm_ingest_report *r, struct tm_arena *arena, json_t *obj,
			 const char *where, struct v1_span *s)
{
	struct zk_span *z = &s->base;
	int present;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(obj))
		return zk_bad(r, "%s: expected an object, got %s", where, zk_json_type_name(obj));
	if (zk_json_trace_id(r, where, obj, z->trace_id) ||
	    zk_json_span_id(r, where, obj, "id", 1, z->id, &present) ||
	    zk_json_span_id(r, where, obj, "parentId", 0, z->parent_id, &z->has_parent) ||
	    zk_json_str(r, where, obj, "name", &z->name) ||
	    zk_json_u64(r, where, obj, "timestamp", 0, &s->timestamp_us) ||
	    zk_json_u64(r, where, obj, "duration", 0, &s->duration_us) ||
	    zk_json_bool(r, where, obj, "debug", &z->is_debug))
		return -EBADMSG;
	if (z->has_parent && tm_id_is_zero(z->parent_id, TM_SPAN_ID_LEN))
		z->has_parent = 0;
	return parse_lists(r, arena, where, obj, s);
}

/*---- converting: one v2 span per side ----*/

struct v1_conv {
	struct tm_ingest_report *report;
	struct tm_arena *arena;
	const char *where;
	const struct v1_span *src;
	struct zk_span *sides;        /* cap_sides of them, reused span after span */
	size_t cap_sides;
	unsigned char has_local[ZK_MAX_V1_SIDES];
	size_t n_sides;
	struct v1_annotation *core[N_CORE];
	int role_side[N_ROLES];       /* -1 when the role is absent */
};

static int new_side(struct v1_conv *c, const struct zk_endpoint *local, uint8_t kind)
{
	if (c->n_sides == ZK_MAX_V1_SIDES)
		return zk_bad(c->report, "%s: more than %d endpoints in one span", c->where,
			      ZK_MAX_V1_SIDES);
	if (c->n_sides == c->cap_sides)
		return -ENOMEM;   /* reserve_sides() counted wrong: cannot happen */
	struct zk_span *z = &c->sides[c->n_sides];
	*z = c->src->base;
	z->kind = kind;
	if (local)
		z->local = *local;
	else
		z->local.service = z->local.ipv4 = z->local.ipv6 = tm_str_from("");
	z->remote.service = z->remote.ipv4 = z->remote.ipv6 = tm_str_from("");
	c->has_local[c->n_sides] = local != NULL;
	return (int)c->n_sides++;
}

/* the side an item recorded by ep belongs to: the first side of the same
 * service, else a side without endpoint yet, else a new one (Zipkin's
 * rule: endpoints are told apart by service name only) */
static int side_for(struct v1_conv *c, const struct zk_endpoint *ep)
{
	if (!ep)
		return 0;
	for (size_t i = 0; i < c->n_sides; i++) {
		if (!c->has_local[i]) {
			c->sides[i].local = *ep;
			c->has_local[i] = 1;
			return (int)i;
		}
		if (tm_str_eq(c->sides[i].local.service, ep->service))
			return (int)i;
	}
	return new_side(c, ep, TM_KIND_INTERNAL);
}

/* the first of each core annotation with an endpoint is consumed */
static void find_core(struct v1_conv *c, struct v1_span *s)
{
	for (size_t i = 0; i < s->n_anns; i++) {
		struct v1_annotation *a = &s->anns[i];
		if (!a->has_ep || a->a.value.len != 2)
			continue;
		for (int k = 0; k < N_CORE; k++)
			if (!c->core[k] && !memcmp(a->a.value.ptr, core_names[k], 2)) {
				c->core[k] = a;
				a->side = -2;
				break;
			}
	}
}

/* a role's begin and end annotations; a consumer's begin is wr, or mr
 * alone (zipkin-js: wr/mr with a duration, mr without) */
static void role_bounds(const struct v1_conv *c, int role, struct v1_annotation **begin,
			struct v1_annotation **end)
{
	static const int pairs[N_ROLES][2] = { { CS, CR }, { SR, SS }, { MS, WS }, { WR, MR } };
	*begin = c->core[pairs[role][0]];
	*end = c->core[pairs[role][1]];
	if (role == CONSUMER && !*begin) {
		*begin = *end;
		*end = NULL;
	}
}

static int make_role_sides(struct v1_conv *c)
{
	for (int role = 0; role < N_ROLES; role++) {
		struct v1_annotation *begin, *end;
		role_bounds(c, role, &begin, &end);
		c->role_side[role] = -1;
		if (!begin && !end)
			continue;
		int side = new_side(c, &(begin ? begin : end)->ep, role_kinds[role]);
		if (side < 0)
			return side;
		c->role_side[role] = side;
		if (!begin)
			end->side = side;   /* no begin to pair it with: keep it as an event */
	}
	if (c->n_sides == 0)
		return new_side(c, NULL, TM_KIND_INTERNAL) < 0 ? -EBADMSG : 0;
	return 0;
}

static int has_roles(const struct v1_conv *c)
{
	for (int role = 0; role < N_ROLES; role++)
		if (c->role_side[role] >= 0)
			return 1;
	return 0;
}

/* the role the span's own timestamp and duration describe */
static int owner_role(const struct v1_conv *c, int server_shared)
{
	if (c->role_side[CLIENT] >= 0)
		return CLIENT;
	if (c->role_side[SERVER] >= 0 && !server_shared)
		return SERVER;
	if (c->role_side[PRODUCER] >= 0)
		return PRODUCER;
	if (c->role_side[CONSUMER] >= 0)
		return CONSUMER;
	return -1;
}

static void time_role(struct v1_conv *c, int role, int is_owner)
{
	struct zk_span *z = &c->sides[c->role_side[role]];
	struct v1_annotation *begin, *end;
	role_bounds(c, role, &begin, &end);
	if (is_owner && c->src->timestamp_us && c->src->duration_us) {
		z->timestamp_us = c->src->timestamp_us;
		z->duration_us = c->src->duration_us;
	} else if (begin) {
		z->timestamp_us = begin->a.timestamp_us;
		if (end && end->a.timestamp_us > begin->a.timestamp_us)
			z->duration_us = end->a.timestamp_us - begin->a.timestamp_us;
	} else if (is_owner) {
		z->timestamp_us = c->src->timestamp_us;
		z->duration_us = c->src->duration_us;
	}
}

static void time_sides(struct v1_conv *c)
{
	const struct v1_span *s = c->src;
	/* v1 had no shared flag: a server side without the span's timestamp
	 * (or with an impossible zero duration) did not own the span id */
	int server_shared = c->role_side[SERVER] >= 0 &&
		(c->role_side[CLIENT] >= 0 || s->timestamp_us == 0 ||
		 (c->core[SS] && s->duration_us == 0));
	int owner = owner_role(c, server_shared);

	for (int role = 0; role < N_ROLES; role++)
		if (c->role_side[role] >= 0)
			time_role(c, role, role == owner);
	if (server_shared)
		c->sides[c->role_side[SERVER]].is_shared = 1;
	if (c->role_side[PRODUCER] >= 0 && c->role_side[CONSUMER] >= 0)
		c->sides[c->role_side[CONSUMER]].is_shared = 1;
	if (owner < 0 && !has_roles(c)) {
		c->sides[0].timestamp_us = s->timestamp_us;
		c->sides[0].duration_us = s->duration_us;
	}
}

/* ca, sa, ma: the last of each with an endpoint */
static void find_addresses(struct v1_span *s, const struct zk_endpoint *addr[3])
{
	static const char *const keys[3] = { "ca", "sa", "ma" };
	addr[0] = addr[1] = addr[2] = NULL;
	for (size_t i = 0; i < s->n_bins; i++)
		for (int k = 0; k < 3; k++)
			if (tm_str_eq(s->bins[i].key, tm_str_from(keys[k])) && s->bins[i].has_ep)
				addr[k] = &s->bins[i].ep;
}

static void set_remote(struct v1_conv *c, int side, const struct zk_endpoint *ep)
{
	if (side >= 0 && ep)
		c->sides[side].remote = *ep;
}

static int assign_remotes(struct v1_conv *c, struct v1_span *s)
{
	const struct zk_endpoint *addr[3];   /* ca, sa, ma */
	find_addresses(s, addr);
	if (has_roles(c)) {
		set_remote(c, c->role_side[SERVER], addr[0]);
		set_remote(c, c->role_side[CLIENT], addr[1]);
		set_remote(c, c->role_side[PRODUCER], addr[2]);
		set_remote(c, c->role_side[CONSUMER], addr[2]);
	} else if (addr[0] && addr[1]) {
		/* no core annotations: the client address names the local side */
		int side = side_for(c, addr[0]);
		if (side < 0)
			return side;
		set_remote(c, side, addr[1]);
	} else {
		set_remote(c, 0, addr[1] ? addr[1] : addr[0] ? addr[0] : addr[2]);
	}
	return 0;
}

static int is_address_key(struct tm_str key)
{
	return tm_str_eq(key, tm_str_from("ca")) || tm_str_eq(key, tm_str_from("sa")) ||
	       tm_str_eq(key, tm_str_from("ma"));
}

static int assign_items(struct v1_conv *c, struct v1_span *s)
{
	for (size_t i = 0; i < s->n_anns; i++) {
		struct v1_annotation *a = &s->anns[i];
		if (a->side == -1 && (a->side = side_for(c, a->has_ep ? &a->ep : NULL)) < 0)
			return -EBADMSG;
	}
	for (size_t i = 0; i < s->n_bins; i++) {
		struct v1_binary *b = &s->bins[i];
		if (is_address_key(b->key))
			continue;
		if ((b->side = side_for(c, b->has_ep ? &b->ep : NULL)) < 0)
			return -EBADMSG;
	}
	return 0;
}

/* every side gets the annotations and tags assigned to it, in order */
static int fill_sides(struct v1_conv *c, const struct v1_span *s)
{
	for (size_t i = 0; i < s->n_anns; i++)
		if (s->anns[i].side >= 0)
			c->sides[s->anns[i].side].n_annotations++;
	for (size_t i = 0; i < s->n_bins; i++)
		if (s->bins[i].side >= 0)
			c->sides[s->bins[i].side].n_tags++;
	for (size_t k = 0; k < c->n_sides; k++) {
		struct zk_span *z = &c->sides[k];
		/* + 1: an arena has no zero-size allocations to offer */
		z->annotations = tm_arena_alloc(c->arena,
						z->n_annotations * sizeof(*z->annotations) + 1);
		z->tags = tm_arena_alloc(c->arena, z->n_tags * sizeof(*z->tags) + 1);
		if (!z->annotations || !z->tags)
			return -ENOMEM;
		z->n_annotations = z->n_tags = 0;
	}
	for (size_t i = 0; i < s->n_anns; i++)
		if (s->anns[i].side >= 0) {
			struct zk_span *z = &c->sides[s->anns[i].side];
			z->annotations[z->n_annotations++] = s->anns[i].a;
		}
	for (size_t i = 0; i < s->n_bins; i++)
		if (s->bins[i].side >= 0) {
			struct zk_span *z = &c->sides[s->bins[i].side];
			struct zk_tag t = { s->bins[i].key, s->bins[i].value };
			z->tags[z->n_tags++] = t;
		}
	return 0;
}

/* every side is a role (from a core annotation) or the endpoint of an item,
 * plus the one for items without endpoint: never more than the items + 1 */
static int reserve_sides(struct v1_conv *c, const struct v1_span *s)
{
	size_t need = s->n_anns + s->n_bins + 1;
	if (need > ZK_MAX_V1_SIDES)
		need = ZK_MAX_V1_SIDES;
	if (need <= c->cap_sides)
		return 0;
	c->cap_sides = need < 4 ? 4 : need;
	c->sides = tm_arena_alloc(c->arena, c->cap_sides * sizeof(*c->sides));
	return c->sides ? 0 : -ENOMEM;
}

static int convert_v1(struct v1_conv *c, struct v1_span *s)
{
	c->src = s;
	c->n_sides = 0;
	memset(c->core, 0, sizeof(c->core));
	if (reserve_sides(c, s))
		return -ENOMEM;
	memset(c->sides, 0, c->cap_sides * sizeof(*c->sides));
	find_core(c, s);
	int rc = make_role_sides(c);
	if (!rc)
		rc = assign_items(c, s);
	if (!rc)
		rc = assign_remotes(c, s);
	if (!rc) {
		time_sides(c);
		rc = fill_sides(c, s);
	}
	return rc;
}

static int add_v1_span(struct zk_sink *sink, struct v1_conv *c, json_t *obj, size_t index)
{
	struct v1_span s;
	char where[32];
	snprintf(where, sizeof(where), "spans[%zu]", index);
	c->where = where;
	int rc = parse_v1_span(sink->report, sink->arena, obj, where, &s);
	if (!rc)
		rc = convert_v1(c, &s);
	for (size_t k = 0; !rc && k < c->n_sides; k++)
		rc = zk_sink_add(sink, &c->sides[k], index);
	return rc;
}

int tm_ingest_zipkin_v1_json(const void *body, size_t len, struct tm_arena *arena,
			     struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct zk_sink sink;
	struct v1_conv conv;
	json_t *root;

	zk_sink_init(&sink, arena, batch, report);
	memset(&conv, 0, sizeof(conv));
	conv.report = report;
	conv.arena = arena;
	int rc = zk_json_load(body, len, report, &root);
	size_t n = root ? json_array_size(root) : 0;
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_v1_span(&sink, &conv, json_array_get(root, i), i);
	json_decref(root);
	return zk_sink_done(&sink, rc);
}
