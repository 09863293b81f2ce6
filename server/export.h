/* export.h - `tracemap export`: the web UI's pages of a window as a static
 * site, to attach a snapshot of an incident to a ticket and open it from
 * file://.
 *
 * The site holds index.html (the service map of the window), a page per
 * service seen in the window, the slowest traces' pages with their Jaeger
 * JSON beside them (trace-<id>.json), and the bottleneck page of every
 * service that is the root of a trace.  Every page linked from a written
 * page is written too (a bottleneck page's example traces, say), so no
 * relative link is left dangling.  File names are what tm_web_href()
 * gives with ctx->static_site set, percent-decoded, as a browser resolves
 * the link against file://.  Files are written to a temporary name, synced
 * and renamed; a directory that is neither empty nor an earlier export
 * (which holds the marker file .tracemap-export, listing what it wrote) is
 * refused; what an earlier export wrote and this one did not is removed.
 *
 * Threads: one call at a time on its own reader of the store.  Errors:
 * 0, or a negative errno with a one-line reason in err: -EEXIST for a
 * directory that is not an export, -EIO and others from the system, store
 * errors.  Memory: nothing is kept after the call. */
#ifndef TM_EXPORT_H
#define TM_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define TM_EXPORT_MARKER ".tracemap-export"

struct tm_export_options {
	const char *out_dir;          /* created if missing */
	uint64_t start_ns, end_ns;    /* the window: traces that started in it */
	const char *window_name;      /* the --since text, e.g. "1h" */
};

/* writes the site; prints what it wrote on out, and on diag the links it
 * could not honour (a link to a live server's path, say). */
int tm_export_site(struct tm_store *st, const struct tm_export_options *opt, FILE *out,
		   FILE *diag, char *err, size_t errlen);

#endif
