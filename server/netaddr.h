/* netaddr.h - the ADDR:PORT arguments of --listen and the UDP listeners.
 *
 * IPv4 only (listeners bind to 127.0.0.1 unless told otherwise); an empty
 * host or "localhost" means 127.0.0.1; port 0 asks the kernel for a free one.
 * Errors: -EINVAL with a one-line message in err. */
#ifndef TM_NETADDR_H
#define TM_NETADDR_H

#include <netinet/in.h>
#include <stddef.h>

int tm_netaddr_parse(const char *spec, struct sockaddr_in *sa, char *err, size_t errlen);

/* "127.0.0.1:4318" into out (len bytes). */
void tm_netaddr_format(const struct sockaddr_in *sa, char *out, size_t len);

#endif
