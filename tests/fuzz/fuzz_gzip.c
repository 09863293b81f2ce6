/* fuzz_gzip.c - streaming inflation of arbitrary bytes under a 1 MiB cap.
 *
 * The first input byte picks how the rest is cut into chunks (as the HTTP
 * server receives it): 0 = one piece, otherwise chunks of 1..255 bytes.
 * Invariants: only 0, -EFBIG or -EBADMSG; the output never passes the cap;
 * the output buffer never grows far beyond it; and when the chunked feed
 * succeeds, one-piece feeding gives the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1024u * 1024u)
#define BUFFER_SLACK (64u * 1024u)

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_gzip: invariant broken: %s\n", what);
		abort();
	}
}

/* returns the rc of the first failing feed, else that of finish */
static int inflate_chunked(const uint8_t *data, size_t size, size_t chunk, struct tm_buf *out)
{
	struct tm_inflate *z = tm_inflate_new(CAP);
	if (!z)
		return -ENOMEM;
	int rc = 0;
	size_t step = chunk ? chunk : size;
	for (size_t off = 0; off < size && rc == 0; off += step) {
		size_t n = size - off < step ? size - off : step;
		rc = tm_inflate_feed(z, data + off, n, out);
		require(out->len <= CAP + 1, "output within the cap");
		require(out->cap <= CAP + BUFFER_SLACK, "output buffer within the cap");
	}
	if (rc == 0)
		rc = tm_inflate_finish(z);
	require(rc == 0 || rc == -EFBIG || rc == -EBADMSG, "rc is 0, -EFBIG or -EBADMSG");
	tm_inflate_free(z);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = data[0];
	data++;
	size--;
	struct tm_buf chunked, whole;
	tm_buf_init(&chunked);
	tm_buf_init(&whole);
	int rc = inflate_chunked(data, size, chunk, &chunked);
	if (rc == 0 && chunk) {
		require(inflate_chunked(data, size, 0, &whole) == 0, "one piece succeeds too");
		require(whole.len == chunked.len &&
			(whole.len == 0 || memcmp(whole.data, chunked.data, whole.len) == 0),
			"chunking does not change the output");
	}
	tm_buf_free(&chunked);
	tm_buf_free(&whole);
	return 0;
}
