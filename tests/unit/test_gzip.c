/* test_gzip.c - streaming inflation: zlib and gzip, any chunking, several
 * members, bombs against the cap, corrupt and truncated streams. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"
#include "testutil.h"

#define MiB (1024u * 1024u)

/* xorshift: the same "random" bytes on every run */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* half random bytes, half runs, so deflate has something to do */
		p[i] = (i / 512) % 2 ? (unsigned char)x : (unsigned char)(i / 4096);
	}
}

/* raw deflate with a zlib (window_bits 15) or gzip (15 + 16) wrapper */
static unsigned char *deflate_all(const unsigned char *in, size_t len, int window_bits,
				  size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(99);
	size_t cap = deflateBound(&zs, (uLong)len);
	unsigned char *out = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		exit(99);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* inflates data in chunks of `chunk` bytes (0: one piece); returns the rc of
 * the first failing feed, else that of tm_inflate_finish */
static int inflate_chunked(const unsigned char *data, size_t len, size_t chunk, size_t cap,
			   struct tm_buf *out)
{
	struct tm_inflate *z = tm_inflate_new(cap);
	if (!z)
		return -ENOMEM;
	int rc = 0;
	size_t step = chunk ? chunk : len;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = tm_inflate_feed(z, data + off, len - off < step ? len - off : step, out);
	if (rc == 0)
		rc = tm_inflate_finish(z);
	tm_inflate_free(z);
	return rc;
}

static void check_round_trip(const unsigned char *plain, size_t len, const unsigned char *packed,
			     size_t packed_len, size_t chunk)
{
	struct tm_buf out;
	tm_buf_init(&out);
	int rc = inflate_chunked(packed, packed_len, chunk, len + 1, &out);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(out.len, len);
	CHECK(out.len == len && memcmp(out.data, plain, len) == 0);
	tm_buf_free(&out);
}

static void test_round_trip(void)
{
	size_t len = 300000;
	unsigned char *plain = malloc(len);
	fill_random(plain, len, 42);

	/* compress2 writes the zlib format */
	uLongf zlen = compressBound((uLong)len);
	unsigned char *zdata = malloc(zlen);
	CHECK_INT_EQ(compress2(zdata, &zlen, plain, (uLong)len, 9), Z_OK);
	size_t glen;
	unsigned char *gdata = deflate_all(plain, len, 15 + 16, &glen);
	CHECK(gdata[0] == 0x1f && gdata[1] == 0x8b);

	static const size_t chunks[] = { 0, 1, 7, 4096, 65536, 65537 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		check_round_trip(plain, len, zdata, zlen, chunks[i]);
		check_round_trip(plain, len, gdata, glen, chunks[i]);
	}

	/* an output of exactly the cap is allowed; one byte more is not */
	struct tm_buf out;
	tm_buf_init(&out);
	CHECK_INT_EQ(inflate_chunked(gdata, glen, 0, len, &out), 0);
	CHECK_INT_EQ(out.len, len);
	out.len = 0;
	CHECK_INT_EQ(inflate_chunked(gdata, glen, 0, len - 1, &out), -EFBIG);
	out.len = 0;
	CHECK_INT_EQ(inflate_chunked(gdata, glen, 1, len - 1, &out), -EFBIG);
	tm_buf_free(&out);

	/* empty input compresses to a valid, empty stream */
	size_t elen;
	unsigned char *empty = deflate_all(plain, 0, 15 + 16, &elen);
	tm_buf_init(&out);
	CHECK_INT_EQ(inflate_chunked(empty, elen, 1, 0, &out), 0);
	CHECK_INT_EQ(out.len, 0);
	tm_buf_free(&out);
	free(empty);
	free(plain);
	free(zdata);
	free(gdata);
}

/* gzip allows several members one after another (cat a.gz b.gz) */
static void test_concatenated(void)
{
	unsigned char a[5000], b[3000];
	fill_random(a, sizeof(a), 1);
	fill_random(b, sizeof(b), 2);
	size_t alen, blen;
	unsigned char *ga = deflate_all(a, sizeof(a), 15 + 16, &alen);
	unsigned char *gb = deflate_all(b, sizeof(b), 15 + 16, &blen);
	unsigned char *both = malloc(alen + blen);
	memcpy(both, ga, alen);
	memcpy(both + alen, gb, blen);
	static const size_t chunks[] = { 0, 1, 3, 100 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct tm_buf out;
		tm_buf_init(&out);
		CHECK_INT_EQ(inflate_chunked(both, alen + blen, chunks[i], 1 * MiB, &out), 0);
		CHECK_INT_EQ(out.len, sizeof(a) + sizeof(b));
		CHECK(out.len == sizeof(a) + sizeof(b) && memcmp(out.data, a, sizeof(a)) == 0 &&
		      memcmp(out.data + sizeof(a), b, sizeof(b)) == 0);
		tm_buf_free(&out);
	}
	/* the cap counts every member together */
	struct tm_buf out;
	tm_buf_init(&out);
	CHECK_INT_EQ(inflate_chunked(both, alen + blen, 0, sizeof(a) + 10, &out), -EFBIG);
	tm_buf_free(&out);
	/* a second member cut short */
	tm_buf_init(&out);
	CHECK_INT_EQ(inflate_chunked(both, alen + blen / 2, 0, 1 * MiB, &out), -EBADMSG);
	tm_buf_free(&out);
	free(ga);
	free(gb);
	free(both);
}

/* feeds the bomb in chunks until it is refused */
static void check_bomb(const unsigned char *bomb, size_t bomb_len, size_t cap, size_t chunk)
{
	struct tm_buf out;
	tm_buf_init(&out);
	struct tm_inflate *z = tm_inflate_new(cap);
	int rc = 0;
	size_t step = chunk ? chunk : bomb_len, max_cap = 0, off;
	for (off = 0; off < bomb_len && rc == 0; off += step) {
		size_t n = bomb_len - off < step ? bomb_len - off : step;
		rc = tm_inflate_feed(z, bomb + off, n, &out);
		if (out.cap > max_cap)
			max_cap = out.cap;
	}
	CHECK_INT_EQ(rc, -EFBIG);
	if (chunk)
		CHECK(off < bomb_len / 2);   /* refused long before the end of the input */
	CHECK(out.len <= cap + 1);
	/* the cap bounds the buffer, not only what was written into it */
	if (max_cap > cap + 64 * 1024)
		fprintf(stderr, "  cap %zu, chunk %zu: output buffer grew to %zu bytes\n", cap,
			chunk, max_cap);
	CHECK(max_cap <= cap + 64 * 1024);
	tm_inflate_free(z);
	tm_buf_free(&out);
}

/* 100 MB of zeros in about 100 KB: refused at the cap, memory stays near it */
static void test_bomb(void)
{
	size_t plain_len = 100u * 1000 * 1000;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	CHECK_INT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	static unsigned char zeros[1 << 16];
	size_t cap = 1024 * 1024;
	unsigned char *bomb = malloc(cap);
	zs.next_out = bomb;
	zs.avail_out = (uInt)cap;
	for (size_t done = 0; done < plain_len;) {
		size_t n = plain_len - done < sizeof(zeros) ? plain_len - done : sizeof(zeros);
		zs.next_in = zeros;
		zs.avail_in = (uInt)n;
		done += n;
		CHECK_INT_EQ(deflate(&zs, done == plain_len ? Z_FINISH : Z_NO_FLUSH),
			     done == plain_len ? Z_STREAM_END : Z_OK);
	}
	size_t bomb_len = zs.total_out;
	deflateEnd(&zs);
	CHECK(bomb_len < 200 * 1024);

	/* a cap that is not a power of two must hold as well as one that is */
	static const size_t caps[] = { 1 * MiB, 1 * MiB + MiB / 2 + 3 };
	static const size_t chunks[] = { 0, 4096, 1 };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
		for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
			check_bomb(bomb, bomb_len, caps[c], chunks[i]);
	free(bomb);
}

static void test_invalid(void)
{
	struct tm_buf out;
	tm_buf_init(&out);
	static const char text[] = "this is not gzip at all, just text";
	CHECK_INT_EQ(inflate_chunked((const unsigned char *)text, sizeof(text) - 1, 0, MiB, &out),
		     -EBADMSG);
	/* a gzip header then garbage */
	static const unsigned char bad_body[] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03,
						  0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	out.len = 0;
	CHECK_INT_EQ(inflate_chunked(bad_body, sizeof(bad_body), 0, MiB, &out), -EBADMSG);
	/* a valid stream whose CRC was damaged */
	unsigned char plain[2000];
	fill_random(plain, sizeof(plain), 7);
	size_t glen;
	unsigned char *g = deflate_all(plain, sizeof(plain), 15 + 16, &glen);
	g[glen - 6] ^= 0x01;
	out.len = 0;
	CHECK_INT_EQ(inflate_chunked(g, glen, 0, MiB, &out), -EBADMSG);
	g[glen - 6] ^= 0x01;
	/* trailing garbage after a complete member */
	unsigned char *tail = malloc(glen + 4);
	memcpy(tail, g, glen);
	memcpy(tail + glen, "junk", 4);
	out.len = 0;
	CHECK_INT_EQ(inflate_chunked(tail, glen + 4, 0, MiB, &out), -EBADMSG);
	free(tail);

	/* truncated: every feed succeeds, finish says the stream did not end */
	for (size_t cut = 0; cut < glen; cut += cut < 20 ? 1 : 97) {
		struct tm_inflate *z = tm_inflate_new(MiB);
		out.len = 0;
		CHECK_INT_EQ(tm_inflate_feed(z, g, cut, &out), 0);
		CHECK_INT_EQ(tm_inflate_finish(z), -EBADMSG);
		tm_inflate_free(z);
	}
	/* nothing fed at all */
	struct tm_inflate *z = tm_inflate_new(MiB);
	CHECK_INT_EQ(tm_inflate_finish(z), -EBADMSG);
	tm_inflate_free(z);
	tm_inflate_free(NULL);
	free(g);
	tm_buf_free(&out);
}

int main(void)
{
	test_round_trip();
	test_concatenated();
	test_bomb();
	test_invalid();
	return TEST_DONE();
}
