/* fuzz_http.c - URL paths, query strings and headers of every API, through
 * the real server (libmicrohttpd, routing, every handler, the store).
 *
 * The server runs in this process (fuzz_http_server.c), seeded with six
 * traces of four services.  Each input is one request on a fresh
 * connection:
 *   byte 0         bits 0-2 the method: GET GET HEAD POST PUT DELETE OPTIONS
 *                  BREW; bit 3 the server: the open one, or the guarded one
 *                  (bearer tokens FUZZ_QUERY_TOKEN and FUZZ_INGEST_TOKEN, an
 *                  access log with query values)
 *   up to '\n'     the request target (path and query string) as raw bytes;
 *                  bytes a request line cannot hold (controls, space, 8-bit)
 *                  are sent %-escaped, which libmicrohttpd undoes, so the
 *                  handlers see every byte value
 *   then lines     headers ("Name: value"), up to an empty line; the client
 *                  sets Host, Connection and Content-Length itself
 *   the rest       the body
 * In the target and the headers, {T1}..{T6} (the seeded trace IDs),
 * {MISSING}, {SPAN}, {START_US}, {END_US}, {END_MS}, {LOOKBACK_MS},
 * {START_RFC3339}, {END_RFC3339} and {NOW_US} become values that find the
 * seed, so that a seed corpus written once keeps reaching the data.
 *
 * Invariants: the server answers within FUZZ_HTTP_DEADLINE_MS; the status
 * is one the code documents (a 500 is a finding); a 405 says Allow and a
 * redirect says Location; the body is as long as Content-Length says; JSON
 * parses (jansson, strict UTF-8); an HTML page starts with <!DOCTYPE html>,
 * ends with </html>, and neither it nor an SVG holds "<fuzz" (the
 * dictionary's marker of markup sent in a parameter: echoed unescaped it
 * would be an injection).
 * On the guarded server: a request without Authorization is refused (401
 * with WWW-Authenticate, or an error of libmicrohttpd's before any handler)
 * unless its path is /healthz or /readyz; every request writes exactly one
 * access log line of printable ASCII.
 * FUZZ_HTTP_VERBOSE=1 prints each request line with its status line. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 32

/* FUZZ_HTTP_VERBOSE set: print every exchange (-1: not looked at yet) */
static int verbose = -1;

/* what this input became, for messages and checks */
static struct {
	char *text;
	size_t len;
	int guarded;
	int has_authorization;
} request;

static void fail(const struct fuzz_response *r, const char *what)
{
	fprintf(stderr, "fuzz_http: invariant broken: %s\n--- request (%zu bytes):\n%.*s\n"
		"--- response (%zu bytes):\n%.2000s\n", what, request.len, (int)request.len,
		request.text, r ? r->raw_len : 0, r ? r->raw : "");
	abort();
}

/*---- building the request ----*/

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p)
			abort();
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void rfc3339(uint64_t us, char *buf, size_t len)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* the value of {name}, or NULL when name is not one of ours */
static const char *placeholder(const char *name, size_t len, char *buf, size_t buflen)
{
	struct timespec ts;
	if (len == 2 && name[0] == 'T' && name[1] >= '1' && name[1] <= '6') {
		snprintf(buf, buflen, FUZZ_TRACE_ID_PREFIX "%c", name[1]);
		return buf;
	}
#define IS(s) (len == sizeof(s) - 1 && !memcmp(name, s, len))
	if (IS("MISSING"))
		return FUZZ_MISSING_TRACE_ID;
	if (IS("SPAN"))
		return "a1b100000000ee0f";
	if (IS("START_US") || IS("END_US") || IS("END_MS") || IS("LOOKBACK_MS")) {
		uint64_t v = IS("START_US") ? fuzz_seed_start_us() : IS("END_US") ? fuzz_seed_end_us()
			   : IS("END_MS") ? fuzz_seed_end_us() / 1000
			   : (fuzz_seed_end_us() - fuzz_seed_start_us()) / 1000;
		snprintf(buf, buflen, "%llu", (unsigned long long)v);
		return buf;
	}
	if (IS("START_RFC3339") || IS("END_RFC3339")) {
		rfc3339(IS("START_RFC3339") ? fuzz_seed_start_us() : fuzz_seed_end_us(), buf, buflen);
		return buf;
	}
	if (IS("NOW_US")) {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(buf, buflen, "%llu", (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000);
		return buf;
	}
#undef IS
	return NULL;
}

/* appends s[0..n) with the placeholders filled in; in a target, escapes
 * what a request line cannot hold, in a header value, blanks controls */
static void put_expanded(struct out *o, const char *s, size_t n, int is_target)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *close = c == '{' ? memchr(s + i, '}', n - i) : NULL;
		char buf[64];
		const char *v = close ? placeholder(s + i + 1, (size_t)(close - s - i - 1), buf,
						    sizeof(buf)) : NULL;
		if (v) {
			put_str(o, v);
			i = (size_t)(close - s);
		} else if (is_target && (c <= 0x20 || c >= 0x7f)) {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
			put(o, esc, 3);
		} else if (!is_target && (c < 0x20 || c == 0x7f) && c != '\t') {
			put(o, " ", 1);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
}

/* 1 when line starts with a header name (an RFC 9110 token) and a colon:
 * libmicrohttpd reads a malformed line leniently, and a line it takes for
 * something else can hide our Content-Length, so that the body is read
 * as a second request */
static int is_header_line(const char *line, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	size_t i = 0;
	while (i < n && (isalnum((unsigned char)line[i]) || (line[i] && strchr(extra, line[i]))))
		i++;
	return i > 0 && i < n && line[i] == ':';
}

/* the client's own headers, which the input may not repeat: a second
 * Content-Length or a keep-alive would desynchronize the exchange, and an
 * Expect would ask for an interim answer */
static int is_reserved_header(const char *line, size_t n)
{
	static const char *const names[] = { "host", "connection", "content-length",
					     "transfer-encoding", "expect", "keep-alive",
					     "upgrade", "te", "trailer" };
	const char *colon = memchr(line, ':', n);
	size_t len = colon ? (size_t)(colon - line) : n;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncasecmp(line, names[i], len))
			return 1;
	return 0;
}

/* the header lines of the input, up to an empty line; returns where the
 * body starts */
static size_t put_headers(struct out *o, const char *s, size_t n)
{
	size_t i = 0;
	for (int count = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - s - i) : n - i;
		size_t next = i + len + (nl ? 1 : 0);
		if (len && s[i + len - 1] == '\r')
			len--;
		if (len == 0)
			return next;
		/* a line that starts with a blank continues the one before
		 * (obsolete folding): it would lengthen our Connection: close */
		size_t lead = 0;
		while (lead < len && (s[i + lead] == ' ' || s[i + lead] == '\t'))
			lead++;
		const char *line = s + i + lead;
		len -= lead;
		if (count < MAX_HEADERS && is_header_line(line, len) && !is_reserved_header(line, len)) {
			request.has_authorization |= len >= 14 && !strncasecmp(line, "authorization:", 14);
			put_expanded(o, line, len, 0);
			put(o, "\r\n", 2);
			count++;
		}
		i = next;
	}
	return i;
}

static const char *const methods[8] = { "GET", "GET", "HEAD", "POST",
					"PUT", "DELETE", "OPTIONS", "BREW" };

static void build(const uint8_t *data, size_t size, struct out *o, const char **method)
{
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	*method = methods[data[0] & 7];
	request.guarded = (data[0] >> 3) & 1;
	request.has_authorization = 0;
	const char *nl = memchr(s, '\n', n);
	size_t target_len = nl ? (size_t)(nl - s) : n;
	put_str(o, *method);
	put(o, " ", 1);
	put_expanded(o, s, target_len, 1);
	put_str(o, " HTTP/1.1\r\nHost: ");
	put_str(o, fuzz_server_address(request.guarded));
	put_str(o, "\r\n");
	size_t at = nl ? target_len + 1 : n;
	at += put_headers(o, s + at, n - at);
	put_str(o, "Connection: close\r\n");
	char cl[48];
	if (at < n || !strcmp(*method, "POST") || !strcmp(*method, "PUT")) {
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", n - at);
		put_str(o, cl);
	}
	put(o, "\r\n", 2);
	put(o, s + at, n - at);
}

/*---- checking the answer ----*/

static int documented_status(unsigned s)
{
	static const unsigned ok[] = { 200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400,
				       401, 404, 405, 406, 413, 414, 415, 429, 431, 503, 507 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == s)
			return 1;
	return 0;
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && !strncasecmp(s, prefix, p);
}

static int contains_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(s + i, needle, k))
			return 1;
	return 0;
}

static void check_body(const struct fuzz_response *r)
{
	const char *b = r->body;
	size_t n = r->body_len;
	if (r->content_length >= 0 && (size_t)r->content_length != n)
		fail(r, "the body is not as long as Content-Length says");
	if (starts_with(r->content_type, strlen(r->content_type), "application/json")) {
		json_error_t err;
		json_t *j = json_loadb(b, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		if (!j) {
			fprintf(stderr, "fuzz_http: jansson: %s at %d\n", err.text, err.position);
			fail(r, "a JSON answer that does not parse");
		}
		json_decref(j);
	} else if (starts_with(r->content_type, strlen(r->content_type), "text/html")) {
		if (!starts_with(b, n, "<!DOCTYPE html>"))
			fail(r, "an HTML page that does not start with <!DOCTYPE html>");
		if (n < 7 || strncmp(b + n - 7, "</html>", 7))
			fail(r, "an HTML page that does not end with </html>");
	}
	/* markup matters where a browser renders it: JSON, plain text and
	 * protobuf error bodies may quote the request as it was */
	if (contains_ci(b, n, "<fuzz") &&
	    (starts_with(r->content_type, strlen(r->content_type), "text/html") ||
	     starts_with(r->content_type, strlen(r->content_type), "image/svg")))
		fail(r, "markup from the request echoed unescaped");
}

/* the path of the request line as the server decodes it (%XX undone) */
static void decoded_path(char *out, size_t len)
{
	const char *p = strchr(request.text, ' ') + 1;
	size_t n = 0;
	for (; *p && *p != ' ' && *p != '?' && n + 1 < len; p++) {
		unsigned v;
		if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1 && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			out[n++] = (char)v;
			p += 2;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* the access log holds this request's line (when must_have: a refusal by
 * libmicrohttpd itself writes none), then is emptied.  The line is written
 * when the answer is done, which can be a moment after the connection
 * closed; a late line of an earlier request may be there too. */
static void check_access_log(const struct fuzz_response *r, int must_have)
{
	char text[16384];
	size_t n = 0;
	for (int tries = 0; tries < 200; tries++) {
		FILE *f = fopen(fuzz_server_access_log(), "r");
		n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		if (f)
			fclose(f);
		if (!must_have || (n && text[n - 1] == '\n'))
			break;
		struct timespec step = { 0, 5 * 1000 * 1000 };
		nanosleep(&step, NULL);
	}
	text[n] = '\0';
	if (must_have && (!n || text[n - 1] != '\n'))
		fail(r, "no access log line");
	for (size_t i = 0; i < n; i++)
		if (text[i] != '\n' && ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)) {
			fprintf(stderr, "fuzz_http: access log: %s", text);
			fail(r, "an access log line that is not one line of printable ASCII");
		}
	if (truncate(fuzz_server_access_log(), 0) < 0)
		fail(r, "cannot empty the access log");
}

static void check_guarded(const struct fuzz_response *r)
{
	char path[4096];
	decoded_path(path, sizeof(path));
	int open_path = !strcmp(path, "/healthz") || !strcmp(path, "/readyz");
	if (r->status == 401 && !r->has_www_authenticate)
		fail(r, "a 401 without WWW-Authenticate");
	/* 400, 413, 414, 431: libmicrohttpd refusing the request itself */
	if (!request.has_authorization && !open_path && r->status != 401 && r->status != 400 &&
	    r->status != 413 && r->status != 414 && r->status != 431)
		fail(r, "a request without a token was let through");
	check_access_log(r, r->status != 400 && r->status != 413 && r->status != 414 &&
			       r->status != 431);
}

static void check(const struct fuzz_response *r, int rc, const char *method)
{
	if (rc == -ETIMEDOUT)
		fail(r, "no complete answer within the deadline (a hang)");
	if (rc)
		fail(r, strerror(-rc));
	if (!r->status)
		fail(r, "no status line: the server closed without answering");
	if (!documented_status(r->status))
		fail(r, r->status == 500 ? "500 Internal Server Error" : "an undocumented status");
	if (r->status == 405 && !r->has_allow)
		fail(r, "a 405 without Allow");
	if (r->status >= 301 && r->status <= 308 && r->status != 304 && !r->has_location)
		fail(r, "a redirect without Location");
	if (!r->body)
		fail(r, "no end of the header block");
	if (strcmp(method, "HEAD") && r->status != 204 && r->status != 304)
		check_body(r);
	if (request.guarded)
		check_guarded(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_server_start();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_server_start();   /* for runners that do not call the initializer */
	struct out o = { 0 };
	const char *method;
	build(data, size, &o, &method);
	request.text = o.p;
	request.len = o.len;
	struct fuzz_response r;
	int rc = fuzz_http_exchange(request.guarded, o.p, o.len, &r);
	if (verbose < 0)
		verbose = getenv("FUZZ_HTTP_VERBOSE") != NULL;
	if (verbose)   /* the request line and the status line */
		fprintf(stderr, "%.*s -> %.*s\n", (int)strcspn(o.p, "\r"), o.p,
			(int)strcspn(r.raw, "\r"), r.raw);
	check(&r, rc, method);
	fuzz_response_free(&r);
	free(o.p);
	request.text = NULL;
	request.len = 0;
	return 0;
}
