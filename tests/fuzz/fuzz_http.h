/* fuzz_http.h - what the parts of the fuzz_http target share: a real
 * tracemap HTTP server in this process (fuzz_http_server.c), the data it is
 * seeded with, and a blocking HTTP/1.1 client with a deadline.
 *
 * Threads: everything here runs on the fuzzing thread; the server runs its
 * own (libmicrohttpd, decoders, writer, analyzer).
 * Errors: anything that goes wrong in setting up is fatal (abort with a
 * message): a fuzz run without its server would find nothing. */
#ifndef TM_FUZZ_HTTP_H
#define TM_FUZZ_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* one exchange may take this long before it counts as a hang (libFuzzer's
 * own -timeout in run.sh is longer, so ours names the request) */
#define FUZZ_HTTP_DEADLINE_MS 8000

/* the seeded traces: trace k (1..6) has ID FUZZ_TRACE_ID_PREFIX "k",
 * the golden data set's IDs (tests/clients/api_golden.test.mjs) */
#define FUZZ_TRACE_ID_PREFIX "feedface0000000000000000c0ffee0"
#define FUZZ_MISSING_TRACE_ID "deadbeefdeadbeefdeadbeefdeadbeef"

struct fuzz_response {
	char *raw;            /* owned: everything read, NUL-terminated */
	size_t raw_len;
	unsigned status;      /* 0 when the status line is unreadable */
	const char *body;     /* into raw, after the header block; NULL without one */
	size_t body_len;
	char content_type[128];
	long content_length;  /* -1 when absent */
	int has_allow, has_location, has_www_authenticate;
};

/* starts the server once (later calls do nothing), seeds it and waits until
 * the service map holds the seed's calls.  Stopped at exit. */
void fuzz_server_start(void);

/* the second server on the same store asks for these bearer tokens on
 * every path but /healthz and /readyz, and writes an access log */
#define FUZZ_QUERY_TOKEN "fuzz-query-token"
#define FUZZ_INGEST_TOKEN "fuzz-ingest-token"

/* "127.0.0.1:PORT" of the open server (0) or the guarded one (1) */
const char *fuzz_server_address(int guarded);

/* the guarded server's access log (query values included) */
const char *fuzz_server_access_log(void);

/* the seed's window, microseconds since the epoch: every seeded span starts
 * and ends within [start, end] */
uint64_t fuzz_seed_start_us(void);
uint64_t fuzz_seed_end_us(void);

/* sends req[0..len) to the open (0) or guarded (1) server on a fresh connection and reads until the server
 * closes it.  Returns 0, or -ETIMEDOUT when the deadline passed first, or
 * another negative errno when the socket failed.  resp is filled in both
 * cases; free it with fuzz_response_free. */
int fuzz_http_exchange(int guarded, const char *req, size_t len, struct fuzz_response *resp);
void fuzz_response_free(struct fuzz_response *resp);

#endif
