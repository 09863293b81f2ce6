/* tls.h - the certificate and key that --tls-cert and --tls-key name, read
 * once at start for libmicrohttpd's GnuTLS support.
 *
 * Errors: negative errno with a one-line message: -ENOTSUP when this
 * libmicrohttpd was built without TLS, otherwise about the file.
 * Memory: tm_tls_clear frees what tm_tls_load read. */
#ifndef TM_TLS_H
#define TM_TLS_H

#include <stddef.h>

struct tm_tls {
	char *cert_pem;   /* NUL-terminated PEM; NULL: plain HTTP */
	char *key_pem;
};

/* reads both PEM files; they must each hold a PEM block of their kind. */
int tm_tls_load(const char *cert_path, const char *key_path, struct tm_tls *tls, char *err,
		size_t errlen);

/* frees and zeroes; the key's bytes are wiped first. */
void tm_tls_clear(struct tm_tls *tls);

#endif
