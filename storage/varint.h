/* varint.h - LEB128 varints, as every record and index value of the store
 * uses them.  Internal to storage/. */
#ifndef TM_VARINT_H
#define TM_VARINT_H

#include <errno.h>
#include <stdint.h>

#include "span.h"

/* appends v in 1 to 10 bytes; a failed buffer stays failed. */
static inline void varint_put(struct tm_buf *b, uint64_t v)
{
	unsigned char *p = tm_buf_reserve(b, 10);
	if (!p)
		return;
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	b->len += n;
}

/* reads one varint at *p, advancing it; 0, or -EBADMSG when it runs past
 * end or past 10 bytes. */
static inline int varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -EBADMSG;
}

#endif
