/* auth.c - bearer tokens. */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tm_auth_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
		      size_t errlen)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	char *buf = malloc(max + 2);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int rc = !buf ? -ENOMEM : ferror(f) ? -EIO : n > max ? -EFBIG : 0;
	fclose(f);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, rc == -EFBIG ? "too large" : strerror(-rc));
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int tm_auth_token_load(const char *path, char **token, char *err, size_t errlen)
{
	char *t;
	size_t n;
	*token = NULL;
	int rc = tm_auth_read_file(path, TM_AUTH_TOKEN_MAX + 2, &t, &n, err, errlen);
	if (rc)
		return rc;
	/* editors end the file with a newline that is no part of the token */
	if (n && t[n - 1] == '\n')
		t[--n] = '\0';
	if (n && t[n - 1] == '\r')
		t[--n] = '\0';
	const char *why = NULL;
	if (n == 0)
		why = "is empty; a token file must hold the token";
	else if (n > TM_AUTH_TOKEN_MAX)
		why = "holds more than 4096 bytes; not a token";
	for (size_t i = 0; !why && i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
			why = "holds a space, line break or control character inside the token";
	if (why) {
		snprintf(err, errlen, "%s %s", path, why);
		free(t);
		return -EINVAL;
	}
	*token = t;
	return 0;
}

int tm_auth_bearer_matches(const char *authorization, const char *token)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7))
		return 0;
	const unsigned char *given = (const unsigned char *)authorization + 7;
	while (*given == ' ')
		given++;
	size_t given_len = strlen((const char *)given), want_len = strlen(token);
	while (given_len && given[given_len - 1] == ' ')
		given_len--;
	/* every byte of the token is looked at whatever the input: the time
	 * tells the token's length at most, never how much of it was right */
	unsigned diff = given_len != want_len;
	for (size_t i = 0; i < want_len; i++)
		diff |= (unsigned)((i < given_len ? given[i] : 0) ^ (unsigned char)token[i]);
	return diff == 0;
}
