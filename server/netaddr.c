/* netaddr.c - parsing and printing ADDR:PORT. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tm_netaddr_parse(const char *spec, struct sockaddr_in *sa, char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':');
	char host[64], *end = NULL;
	size_t hlen = colon ? (size_t)(colon - spec) : 0;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (!colon || hlen >= sizeof(host) || colon[1] == '\0' || *end || port < 0 ||
	    port > 65535) {
		snprintf(err, errlen, "%s: expected ADDR:PORT, e.g. 127.0.0.1:4318", spec);
		return -EINVAL;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (hlen == 0 || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "%s: '%s' is not an IPv4 address", spec, host);
		return -EINVAL;
	}
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

void tm_netaddr_format(const struct sockaddr_in *sa, char *out, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(out, len, "%s:%u", ip, ntohs(sa->sin_port));
}
