/* api_common.c - small helpers of the query API handlers. */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *api_arg(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_arg_any(struct http_request *r, const char *const *names)
{
	for (; *names; names++) {
		const char *v = api_arg(r, *names);
		if (v)
			return v;
	}
	return NULL;
}

uint64_t api_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t api_us_to_ns_lo(uint64_t us)
{
	return us > UINT64_MAX / 1000 ? UINT64_MAX : us * 1000;
}

uint64_t api_us_to_ns_hi(uint64_t us)
{
	return us > UINT64_MAX / 1000 - 1 ? UINT64_MAX : us * 1000 + 999;
}

static int name_cmp(const void *a, const void *b)
{
	const struct tm_name *x = a, *y = b;
	size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
	int c = n ? memcmp(x->name.ptr, y->name.ptr, n) : 0;
	if (c)
		return c;
	if (x->name.len != y->name.len)
		return x->name.len < y->name.len ? -1 : 1;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

size_t api_unique_names(struct tm_name *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), name_cmp);
	size_t out = 0;
	for (size_t i = 0; i < n; i++)
		if (!out || !tm_str_eq(items[out - 1].name, items[i].name))
			items[out++] = items[i];
	return out;
}

int api_method_ok(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* by name, then kind; no repeats removed */
void api_sort_names(struct tm_name *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), name_cmp);
}
