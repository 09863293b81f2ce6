/* api_internal.h - what the query API handlers (api_*.c) share. */
#ifndef TM_API_INTERNAL_H
#define TM_API_INTERNAL_H

#include <stdint.h>

#include "http_internal.h"
#include "search.h"
#include "store.h"

#define API_JSON "application/json"
#define API_ERR_LEN 256

/* a query-string value (MHD unescapes it), or NULL when absent */
const char *api_arg(struct http_request *r, const char *name);

/* the first of several alias names that is present, or NULL */
const char *api_arg_any(struct http_request *r, const char *const *names);

/* the current time in ns */
uint64_t api_now_ns(void);

/* µs bounds of a window as inclusive ns bounds */
uint64_t api_us_to_ns_lo(uint64_t us);
uint64_t api_us_to_ns_hi(uint64_t us);

/* sorted names without repeats, from an array of tm_name (by name) */
size_t api_unique_names(struct tm_name *items, size_t n);

/* sorts by name, then kind, keeping repeats */
void api_sort_names(struct tm_name *items, size_t n);

/* handlers */
enum MHD_Result api_jaeger(struct http_request *r, const char *method);
enum MHD_Result api_zipkin(struct http_request *r, const char *method);
enum MHD_Result api_slow(struct http_request *r, const char *method);
/* /api/servicemap, /api/dependencies, /api/bottlenecks */
enum MHD_Result api_servicemap(struct http_request *r, const char *method);
/* Jaeger's /api/dependencies, or with zipkin Zipkin's /api/v2/dependencies */
enum MHD_Result api_dependencies(struct http_request *r, int zipkin);

/* answers 405 for anything but GET and HEAD; 0 when the method is fine */
int api_method_ok(const char *method);

#endif
