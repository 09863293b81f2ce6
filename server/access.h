/* access.h - what serving takes from files named by options, beside the
 * store: the bearer tokens, the TLS certificate and key, the access log.
 *
 * Read once at start, before any thread: a later change of a token file
 * takes a restart.  Errors: negative errno with a one-line message naming
 * the option and the file.
 * Memory: everything belongs to struct tm_access until tm_access_close;
 * tm_access_http_options lends it to the HTTP server, which must stop
 * first. */
#ifndef TM_ACCESS_H
#define TM_ACCESS_H

#include <stddef.h>

#include "config.h"
#include "http.h"
#include "tls.h"

struct tm_access {
	char *ingest_token;                 /* NULL: ingest is open */
	char *query_token;                  /* NULL: queries are open */
	struct tm_tls tls;
	struct tm_access_log *access_log;   /* NULL: none */
};

/* reads the token files, the certificate and key, and opens the access log
 * that cfg names.  On error nothing is left open. */
int tm_access_open(const struct tm_config *cfg, struct tm_access *a, char *err, size_t errlen);

/* sets the access fields of opt to what a holds. */
void tm_access_http_options(const struct tm_access *a, struct tm_http_options *opt);

/* one line for the log: "tls on, ingest token, query token", or "". */
void tm_access_describe(const struct tm_access *a, char *buf, size_t len);

/* frees everything; the HTTP server must be stopped. */
void tm_access_close(struct tm_access *a);

#endif
