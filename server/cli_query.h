/* cli_query.h - `tracemap query slow|trace`: answers of the query API as
 * tables for a terminal.  Errors: negative errno with a one-line message in
 * err.  Memory: nothing kept. */
#ifndef TM_CLI_QUERY_H
#define TM_CLI_QUERY_H

#include <stdio.h>

#include "config.h"
#include "store.h"

int tm_cli_query(struct tm_store *st, const struct tm_config *cfg, FILE *out, char *err,
		 size_t errlen);

#endif
