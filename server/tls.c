/* tls.c - reading the certificate and key for HTTPS. */
#include "tls.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

/* a certificate chain of a few certificates is a few KiB */
#define PEM_MAX (1u << 20)

static int load_pem(const char *option, const char *path, const char *marker, char **out,
		    char *err, size_t errlen)
{
	char msg[256];
	size_t len;
	int rc = tm_auth_read_file(path, PEM_MAX, out, &len, msg, sizeof(msg));
	if (rc) {
		snprintf(err, errlen, "%s %s", option, msg);
		return rc;
	}
	if (!strstr(*out, "-----BEGIN ") || !strstr(*out, marker)) {
		snprintf(err, errlen, "%s %s: not a PEM file with a %s block", option, path, marker);
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

int tm_tls_load(const char *cert_path, const char *key_path, struct tm_tls *tls, char *err,
		size_t errlen)
{
	memset(tls, 0, sizeof(*tls));
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "--tls-cert: this libmicrohttpd was built without TLS "
			 "(GnuTLS); install one that has it, or serve plain HTTP behind a proxy");
		return -ENOTSUP;
	}
	int rc = load_pem("--tls-cert", cert_path, "CERTIFICATE-----", &tls->cert_pem, err, errlen);
	if (!rc)
		rc = load_pem("--tls-key", key_path, "PRIVATE KEY-----", &tls->key_pem, err, errlen);
	if (rc)
		tm_tls_clear(tls);
	return rc;
}

void tm_tls_clear(struct tm_tls *tls)
{
	if (tls->key_pem) {
		/* volatile: the wipe of a buffer about to be freed is not optimised away */
		volatile char *p = tls->key_pem;
		while (*p)
			*p++ = 0;
	}
	free(tls->cert_pem);
	free(tls->key_pem);
	tls->cert_pem = NULL;
	tls->key_pem = NULL;
}
