/* thriftwriter.h - building TBinaryProtocol bytes by hand in unit tests.
 * Header-only (static inline); a failed allocation exits 99 (broken setup). */
#ifndef TM_THRIFTWRITER_H
#define TM_THRIFTWRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wbuf {
	uint8_t *data;
	size_t len, cap;
};

static inline void w_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->data = realloc(w->data, w->cap);
		if (!w->data) {
			fprintf(stderr, "out of memory\n");
			exit(99);
		}
	}
	if (n)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

static inline void w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static inline void w_be(struct wbuf *w, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		w_u8(w, (uint8_t)(v >> (8 * i)));
}

static inline void w_field(struct wbuf *w, uint8_t type, int16_t id)
{
	w_u8(w, type);
	w_be(w, (uint16_t)id, 2);
}

static inline void w_str(struct wbuf *w, const char *s)
{
	w_be(w, (uint32_t)strlen(s), 4);
	w_bytes(w, s, strlen(s));
}

static inline void w_free(struct wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

#endif
