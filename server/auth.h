/* auth.h - bearer tokens: read from a file once, compared in constant time.
 *
 * A token file holds the token; one trailing newline (LF or CRLF) is
 * stripped.  An empty token, one over TM_AUTH_TOKEN_MAX bytes, or one with
 * a space or control character inside is refused: it could not travel in
 * an Authorization header as written.
 * Threads: tm_auth_bearer_matches is reentrant.
 * Errors: negative errno with a one-line message naming the file. */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include <stddef.h>

#define TM_AUTH_TOKEN_MAX 4096

/* reads a whole small file (at most max bytes) into a NUL-terminated text.
 * The caller frees *text with free(). */
int tm_auth_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
		      size_t errlen);

/* reads the token of path.  The caller frees *token with free(). */
int tm_auth_token_load(const char *path, char **token, char *err, size_t errlen);

/* 1 when authorization (the Authorization header's value, NULL when absent)
 * is "Bearer <token>"; the scheme is matched without regard to case.  The
 * time taken depends on the lengths, never on where the bytes differ. */
int tm_auth_bearer_matches(const char *authorization, const char *token);

#endif
