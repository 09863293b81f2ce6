/* smap_internal.h - what the service-map files share: the rollup row
 * format and the profile row format. */
#ifndef TM_SMAP_INTERNAL_H
#define TM_SMAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "servicemap.h"

/* rollup keys: res[1] t[4] type[1] a[4] b[4], big-endian
 *   res  'm' minute, 't' ten minutes, 'h' hour; t counts those since the epoch
 *   type 'E' service edge (a, b: node ids; 0 = user)
 *        'e' operation edge (a, b: operation ids or node ids)
 *        'N' service node (a: service id), 'n' operation node (a: op id)
 * value: calls, errors, 4xx, 5xx, 429 (varints), node kind of b (1 byte),
 *        then the latency histogram (tm_hist_encode). */
#define SMAP_KEY_LEN 14

enum smap_type { SMAP_EDGE = 'E', SMAP_OP_EDGE = 'e', SMAP_NODE = 'N', SMAP_OP_NODE = 'n' };

static const unsigned char smap_res[3] = { 'm', 't', 'h' };
static const uint32_t smap_res_minutes[3] = { 1, 10, 60 };

struct smap_key {
	uint8_t type;
	uint32_t a, b;
	uint32_t minute;
};

void smap_key_encode(unsigned char out[SMAP_KEY_LEN], unsigned char res, uint32_t t,
		     const struct smap_key *k);

struct smap_value {
	uint64_t calls, errors, http4xx, http5xx, throttled;
	uint8_t node_kind;
	const unsigned char *hist;
	size_t hist_len;
};

int smap_value_decode(const void *p, size_t len, struct smap_value *out);

/* profile keys: minute[4] emitted[8] trace_id[16] (minute of the trace's
 * start); value: start (fixed64), duration, span count, error count, flags
 * (1 byte), root service id, root operation id, the service ids and
 * operation ids of the trace, and per operation its time on the critical
 * path (varints).  One row per trace, written when it is paired; a trace
 * paired again (late spans) gets a newer row that supersedes the older. */
#define PROFILE_KEY_LEN 28

/* a key above every minute: the newest profile row (emission counter) the
 * store holds, written with every flush */
#define PROFILE_MARK_KEY ((const unsigned char *)"\xff\xff\xff\xffM")
#define PROFILE_MARK_LEN 5

enum {
	PROFILE_SUPERSEDES = 1,   /* made from the stored trace: an older row may exist */
	PROFILE_ROOT = 2,         /* the naming span has no parent */
};

struct profile_row {
	uint64_t start, duration, spans, errors;
	uint32_t root_svc, root_op;
	uint8_t flags;
	const unsigned char *svcs, *ops, *path;   /* count-prefixed varint lists */
	const unsigned char *end;
};

/* parses a profile value; 0 or -EBADMSG */
int profile_decode(const void *val, size_t len, struct profile_row *out);

#endif
