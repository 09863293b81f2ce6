/* access.c - tokens, TLS files and the access log, opened for serving. */
#include "access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "auth.h"

static int load_token(const char *option, const char *path, char **token, char *err,
		      size_t errlen)
{
	char msg[384];
	if (!path)
		return 0;
	int rc = tm_auth_token_load(path, token, msg, sizeof(msg));
	if (rc)
		snprintf(err, errlen, "%s %s", option, msg);
	return rc;
}

int tm_access_open(const struct tm_config *cfg, struct tm_access *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	int rc = load_token("--ingest-token-file", cfg->ingest_token_file, &a->ingest_token, err,
			    errlen);
	if (!rc)
		rc = load_token("--query-token-file", cfg->query_token_file, &a->query_token, err,
				errlen);
	if (!rc && cfg->tls_cert)
		rc = tm_tls_load(cfg->tls_cert, cfg->tls_key, &a->tls, err, errlen);
	if (!rc && cfg->access_log)
		rc = tm_access_log_open(cfg->access_log, cfg->access_log_query, &a->access_log, err,
					errlen);
	if (rc)
		tm_access_close(a);
	return rc;
}

void tm_access_http_options(const struct tm_access *a, struct tm_http_options *opt)
{
	opt->ingest_token = a->ingest_token;
	opt->query_token = a->query_token;
	opt->tls_cert_pem = a->tls.cert_pem;
	opt->tls_key_pem = a->tls.key_pem;
	opt->access_log = a->access_log;
}

void tm_access_describe(const struct tm_access *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", a->tls.cert_pem ? ", https" : "",
		 a->ingest_token ? ", ingest token required" : "",
		 a->query_token ? ", query token required" : "");
}

/* the token's bytes are wiped before the memory goes back */
static void free_secret(char **s)
{
	if (*s) {
		volatile char *p = *s;
		while (*p)
			*p++ = 0;
	}
	free(*s);
	*s = NULL;
}

void tm_access_close(struct tm_access *a)
{
	free_secret(&a->ingest_token);
	free_secret(&a->query_token);
	tm_tls_clear(&a->tls);
	tm_access_log_close(a->access_log);
	a->access_log = NULL;
}
