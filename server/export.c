/* export.c - `tracemap export`: the web UI's pages as a static site.
 *
 * A queue of pages to write starts with the map, the services of the
 * window, the slowest traces and the bottlenecks of root services; each
 * page written is scanned for relative links, and what they name joins the
 * queue, so the site is closed under its links.  See export.h. */
#include "export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search.h"
#include "servicemap.h"
#include "trace_json.h"
#include "tracemap_version.h"
#include "web.h"

#define SLOWEST 20                /* traces written for being slow */
#define MAX_TRACES 250            /* trace pages in all, linked ones too */
#define MAX_NAME 240              /* bytes of a file name */
#define MARKER_HEAD "tracemap export"

enum page_kind { PAGE_MAP, PAGE_SERVICE, PAGE_TRACE, PAGE_TRACE_JSON, PAGE_BOTTLENECKS,
		 N_KINDS };

static const char *const kind_label[N_KINDS] = {
	"index.html", "service-*.html", "trace-*.html", "trace-*.json", "bottlenecks-*.html",
};

struct page {
	enum page_kind kind;
	char *arg;                  /* service name or 32 hex digits */
	char *file;                 /* its file name in the site */
};

struct site {
	const struct tm_export_options *opt;
	FILE *diag;
	int dfd;
	struct tm_store_reader *rd;
	struct tm_arena arena;
	struct tm_web_ctx ctx;
	struct tm_web_window window;
	struct page *pages;         /* to write, then written; also the set of files */
	size_t n, cap;
	size_t n_traces;
	size_t files[N_KINDS];
	uint64_t bytes[N_KINDS];
	size_t skipped_traces, unnamed, live_links, foreign_links, odd_links;
	char odd_example[128];
	char *err;
	size_t errlen;
};

static int fail(struct site *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct site *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/*---- file names ----*/

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* undoes tm_html_escape's five entities and then percent-encoding, as a
 * browser does to an href before it opens the file; -EINVAL for a name
 * that cannot be one file of the site */
static int link_to_name(const char *href, size_t len, char *out, size_t size)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&#39;", '\'' },
	};
	char plain[1024];
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < sizeof(plain); i++) {
		char c = href[i];
		for (size_t e = 0; c == '&' && e < sizeof(ents) / sizeof(ents[0]); e++) {
			size_t el = strlen(ents[e].ent);
			if (i + el <= len && !memcmp(href + i, ents[e].ent, el)) {
				c = ents[e].c;
				i += el - 1;
				break;
			}
		}
		plain[n++] = c;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = plain[i];
		if (c == '%' && i + 2 < n && hexval(plain[i + 1]) >= 0 &&
		    hexval(plain[i + 2]) >= 0) {
			c = (char)(hexval(plain[i + 1]) * 16 + hexval(plain[i + 2]));
			i += 2;
		}
		if (c == '/' || c == '\0' || k + 1 >= size || k + 1 > MAX_NAME)
			return -EINVAL;
		out[k++] = c;
	}
	out[k] = 0;
	return k && out[0] != '.' ? 0 : -EINVAL;
}

/* the file a page is written to: its link in an exported site, decoded */
static int page_file(struct site *s, enum page_kind kind, const char *arg, char *out,
		     size_t size)
{
	static const enum tm_web_link links[N_KINDS] = {
		TM_LINK_MAP, TM_LINK_SERVICE, TM_LINK_TRACE, TM_LINK_TRACE, TM_LINK_BOTTLENECKS,
	};
	struct tm_buf href;
	tm_buf_init(&href);
	tm_web_href(&href, &s->ctx, links[kind], tm_str_from(arg), tm_str_from(NULL));
	int rc = href.failed ? -ENOMEM
			     : link_to_name((const char *)href.data, href.len, out, size);
	tm_buf_free(&href);
	size_t len = rc ? 0 : strlen(out);
	if (!rc && kind == PAGE_TRACE_JSON) {   /* trace-<id>.html -> trace-<id>.json */
		if (len < 5 || strcmp(out + len - 5, ".html"))
			return -EINVAL;
		memcpy(out + len - 5, ".json", 5);
	}
	return rc;
}

static struct page *find_page(struct site *s, const char *file)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->pages[i].file, file))
			return &s->pages[i];
	return NULL;
}

/* queues a page unless it is queued already */
static int want(struct site *s, enum page_kind kind, const char *arg)
{
	char file[MAX_NAME + 8];
	int rc = page_file(s, kind, arg, file, sizeof(file));
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		s->unnamed++;
		return 0;
	}
	if (find_page(s, file))
		return 0;
	if (kind == PAGE_TRACE && s->n_traces == MAX_TRACES) {
		s->skipped_traces++;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct page *p = realloc(s->pages, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->pages = p;
		s->cap = cap;
	}
	struct page *p = &s->pages[s->n];
	p->kind = kind;
	p->arg = strdup(arg);
	p->file = strdup(file);
	if (!p->arg || !p->file) {
		free(p->arg);
		free(p->file);
		return -ENOMEM;
	}
	s->n++;
	s->n_traces += kind == PAGE_TRACE;
	return kind == PAGE_TRACE ? want(s, PAGE_TRACE_JSON, arg) : 0;
}

static int want_str(struct site *s, enum page_kind kind, struct tm_str arg)
{
	char buf[1024];
	if (arg.len >= sizeof(buf) || memchr(arg.ptr, 0, arg.len)) {
		s->unnamed++;
		return 0;
	}
	memcpy(buf, arg.ptr, arg.len);
	buf[arg.len] = 0;
	return want(s, kind, buf);
}

/*---- the directory ----*/

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

/* the file names an earlier export listed in its marker, or NULL */
static char *read_marker(int dfd, int *is_export)
{
	*is_export = 0;
	int fd = openat(dfd, TM_EXPORT_MARKER, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t k;
	while (buf && (k = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)k;
		if (len == cap) {
			char *p = realloc(buf, 2 * cap + 1);
			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf)
		return NULL;
	buf[len] = 0;
	*is_export = !strncmp(buf, MARKER_HEAD, strlen(MARKER_HEAD));
	return buf;
}

static int dir_is_empty(int dfd)
{
	int fd = dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	int empty = 1;
	for (struct dirent *e; empty && (e = readdir(dir));)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(dir);
	return empty;
}

/* writes name in the site: a temporary file, synced, renamed over it */
static int write_file(struct site *s, const char *name, const void *data, size_t len)
{
	char tmp[MAX_NAME + 32];
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	int fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(s, -errno, "%s/%s: %s", s->opt->out_dir, tmp, strerror(errno));
	const char *p = data;
	int rc = 0;
	while (!rc && len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno != EINTR) {
			rc = -errno;
		} else if (k > 0) {
			p += k;
			len -= (size_t)k;
		}
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(s->dfd, tmp, s->dfd, name) < 0)
		rc = -errno;
	if (rc) {
		unlinkat(s->dfd, tmp, 0);
		return fail(s, rc, "%s/%s: %s", s->opt->out_dir, name, strerror(-rc));
	}
	return 0;
}

/* the marker lists every file of the site, for the next export */
static int write_marker(struct site *s)
{
	struct tm_buf m;
	tm_buf_init(&m);
	tm_buf_add_str(&m, MARKER_HEAD " " TRACEMAP_VERSION "\n");
	for (size_t i = 0; i < s->n; i++) {
		tm_buf_add_str(&m, s->pages[i].file);
		tm_buf_add_str(&m, "\n");
	}
	int rc = m.failed ? fail(s, -ENOMEM, "out of memory")
			  : write_file(s, TM_EXPORT_MARKER, m.data, m.len);
	tm_buf_free(&m);
	return rc;
}

/* opens (making it if missing) the site's directory; refuses one that is
 * neither empty nor an export.  *old: the files an earlier export wrote */
static int open_dir(struct site *s, char **old)
{
	const char *dir = s->opt->out_dir;
	int rc = make_dirs(dir);
	if (rc)
		return fail(s, rc, "cannot create %s: %s", dir, strerror(-rc));
	s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0)
		return fail(s, -errno, "cannot open %s: %s", dir, strerror(errno));
	int is_export;
	*old = read_marker(s->dfd, &is_export);
	if (is_export)
		return 0;
	rc = dir_is_empty(s->dfd);
	if (rc < 0)
		return fail(s, rc, "cannot read %s: %s", dir, strerror(-rc));
	if (!rc)
		return fail(s, -EEXIST, "%s is not empty and holds no earlier export (no %s "
			    "in it); give a new or empty directory", dir, TM_EXPORT_MARKER);
	return write_marker(s);   /* from now on it is an export, even if this one fails */
}

/* removes what the earlier export wrote and this one did not */
static void remove_stale(struct site *s, char *old)
{
	char *save = NULL, *line = old ? strtok_r(old, "\n", &save) : NULL;
	if (line)   /* the head */
		line = strtok_r(NULL, "\n", &save);
	for (; line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '.' && !strchr(line, '/') && !find_page(s, line))
			unlinkat(s->dfd, line, 0);
}

/*---- pages ----*/

/* a page whose subject is gone still gets a file, so its links resolve */
static int render(struct site *s, const struct page *p, struct tm_buf *out)
{
	struct tm_web_ctx *c = &s->ctx;
	uint8_t id[TM_TRACE_ID_LEN];
	int rc;
	c->err[0] = 0;
	switch (p->kind) {
	case PAGE_MAP: {
		struct tm_web_map_params mp = { .window = s->window, .hops = 1 };
		rc = tm_web_map_page(out, c, &mp);
		break;
	}
	case PAGE_SERVICE:
		rc = tm_web_service_page(out, c, tm_str_from(p->arg), &s->window);
		break;
	case PAGE_BOTTLENECKS:
		rc = tm_web_bottlenecks_page(out, c, tm_str_from(p->arg), tm_str_from(NULL),
					     &s->window);
		break;
	case PAGE_TRACE:
		rc = tm_trace_id_parse(p->arg, strlen(p->arg), id);
		rc = rc ? -ENOENT : tm_web_trace_page(out, c, id);
		break;
	case PAGE_TRACE_JSON:
	default: {
		struct tm_trace t;
		rc = tm_trace_id_parse(p->arg, strlen(p->arg), id) ? -ENOENT
			: tm_store_reader_trace(s->rd, id, &s->arena, &t);
		if (!rc)
			tm_jaeger_write_traces(out, &t, 1);
		else if (rc == -ENOENT)
			tm_jaeger_write_error(out, 404, "trace not found");
		return rc == -ENOENT ? 0 : rc;
	}
	}
	if (rc == -ENOENT || rc == -ESRCH || rc == -EINVAL) {
		out->len = 0;
		tm_web_error_page(out, c, rc == -EINVAL ? 400 : 404, c->err[0] ? c->err
				  : p->kind == PAGE_TRACE ? "No trace with this ID is stored."
				  : "The store holds nothing of this service in the window.");
		rc = 0;
	}
	return rc;
}

/* what a relative link (NUL-terminated) names: queues the page, or counts
 * what it cannot */
static int follow(struct site *s, const char *href, size_t len)
{
	static const struct { const char *prefix, *suffix; enum page_kind kind; } forms[] = {
		{ "service-", ".html", PAGE_SERVICE }, { "trace-", ".html", PAGE_TRACE },
		{ "trace-", ".json", PAGE_TRACE_JSON },
		{ "bottlenecks-", ".html", PAGE_BOTTLENECKS },
	};
	len = strcspn(href, "?#") < len ? strcspn(href, "?#") : len;
	char name[MAX_NAME + 8];
	if (!len)
		return 0;   /* a #fragment of the page itself */
	if (link_to_name(href, len, name, sizeof(name)) < 0)
		goto odd;
	if (!strcmp(name, "index.html"))
		return want(s, PAGE_MAP, "");
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t pl = strlen(forms[i].prefix), nl = strlen(name);
		if (nl > pl + 5 && !strncmp(name, forms[i].prefix, pl) &&
		    !strcmp(name + nl - 5, forms[i].suffix)) {
			name[nl - 5] = 0;
			if (forms[i].kind == PAGE_TRACE_JSON)
				return want(s, PAGE_TRACE, name + pl);
			return want(s, forms[i].kind, name + pl);
		}
	}
odd:
	if (!s->odd_links++)
		snprintf(s->odd_example, sizeof(s->odd_example), "%.*s", (int)len, href);
	return 0;
}

/* one link of a page (NUL-terminated): another host, a live server's
 * path, or ours */
static int scan_link(struct site *s, const char *p, size_t len)
{
	size_t colon = strcspn(p, ":"), path = strcspn(p, "/?#");
	if ((len >= 2 && p[0] == '/' && p[1] == '/') || (colon < len && colon < path)) {
		s->foreign_links++;   /* //host/..., http:, https:, mailto:, ... */
		return 0;
	}
	if (len && p[0] == '/') {
		s->live_links++;
		return 0;
	}
	return follow(s, p, len);
}

/* scans the href="", src="" and action="" of a page */
static int scan_links(struct site *s, const struct tm_buf *html)
{
	static const char *const attrs[] = { "href=\"", "src=\"", "action=\"" };
	const char *text = (const char *)html->data, *end = text + html->len;
	for (size_t a = 0; a < sizeof(attrs) / sizeof(attrs[0]); a++) {
		size_t al = strlen(attrs[a]);
		for (const char *p = text; (p = memmem(p, (size_t)(end - p), attrs[a], al));) {
			p += al;
			const char *q = memchr(p, '"', (size_t)(end - p));
			if (!q)
				break;
			char link[1024];
			size_t len = (size_t)(q - p);
			snprintf(link, sizeof(link), "%.*s", (int)len, p);
			int rc = scan_link(s, link, len < sizeof(link) ? len : sizeof(link) - 1);
			if (rc)
				return rc;
			p = q;
		}
	}
	return 0;
}

static int write_page(struct site *s, size_t i)
{
	struct tm_buf out;
	tm_buf_init(&out);
	tm_arena_clear(&s->arena);
	struct page p = s->pages[i];   /* want() may move the array */
	int rc = render(s, &p, &out);
	if (!rc && out.failed)
		rc = -ENOMEM;
	if (rc) {
		tm_buf_free(&out);
		return fail(s, rc, "%s: %s", p.file, tm_store_strerror(rc));
	}
	rc = write_file(s, p.file, out.data, out.len);
	if (!rc && p.kind != PAGE_TRACE_JSON && (rc = scan_links(s, &out)))
		fail(s, rc, "out of memory");
	if (!rc) {
		s->files[p.kind]++;
		s->bytes[p.kind] += out.len;
	}
	tm_buf_free(&out);
	return rc;
}

/*---- what the window holds ----*/

static uint32_t minute_of(uint64_t ns)
{
	uint64_t m = ns / TM_NS_PER_MINUTE;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

struct id_list {
	uint32_t *ids;
	size_t n, cap;
	uint8_t *root;              /* the service is the root of some trace */
};

static int id_add(struct id_list *l, uint32_t id, int root)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id) {
			l->root[i] |= (uint8_t)root;
			return 0;
		}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		uint32_t *ids = realloc(l->ids, cap * sizeof(*ids));
		if (ids)
			l->ids = ids;
		uint8_t *r = ids ? realloc(l->root, cap) : NULL;
		if (!r)
			return -ENOMEM;
		l->root = r;
		l->cap = cap;
	}
	l->ids[l->n] = id;
	l->root[l->n++] = (uint8_t)root;
	return 0;
}

/* every service with spans in the window, and which are roots */
static int window_services(struct site *s, struct id_list *l)
{
	struct tm_piece_iter *it;
	int rc = tm_piece_iter_open(s->rd, TM_PIECES_SUMMARY, minute_of(s->window.start_ns),
				    minute_of(s->window.end_ns), &it);
	if (rc)
		return rc;
	struct tm_piece p;
	while ((rc = tm_piece_iter_next(it, &p)) == 1) {
		for (size_t i = 0; i < p.n_svcs && !rc; i++)
			rc = id_add(l, p.svcs[i], 0);
		if (!rc && p.root_is_root && p.root_svc)
			rc = id_add(l, p.root_svc, 1);
		if (rc)
			break;
	}
	tm_piece_iter_close(it);
	return rc < 0 ? rc : 0;
}

static int want_services(struct site *s)
{
	struct id_list l = { 0 };
	int rc = window_services(s, &l);
	for (size_t i = 0; i < l.n && !rc; i++) {
		struct tm_name name;
		if (tm_store_name(s->rd, l.ids[i], &name))
			continue;
		rc = want_str(s, PAGE_SERVICE, name.name);
		if (!rc && l.root[i])
			rc = want_str(s, PAGE_BOTTLENECKS, name.name);
	}
	free(l.ids);
	free(l.root);
	if (rc)
		return fail(s, rc, "reading the services of the window: %s", tm_store_strerror(rc));
	/* the map's window is whole minutes: its services get pages too */
	struct tm_smap_query q = { s->window.start_ns, s->window.end_ns, 0, { "", 0 }, 1 };
	struct tm_smap_map m;
	rc = tm_smap_query(s->rd, &q, &s->arena, &m);
	for (size_t i = 0; !rc && i < m.n_nodes; i++)
		if (m.nodes[i].kind == TM_SMAP_SERVICE)
			rc = want_str(s, PAGE_SERVICE, m.nodes[i].id);
	return rc ? fail(s, rc, "reading the service map: %s", tm_store_strerror(rc)) : 0;
}

static int want_slowest(struct site *s)
{
	struct tm_slow_query q = { .start_ns = s->window.start_ns, .end_ns = s->window.end_ns,
				   .limit = SLOWEST };
	struct tm_slow_result res;
	int rc = tm_slow_traces(s->rd, &q, &s->arena, &res);
	for (size_t i = 0; !rc && i < res.n; i++) {
		char hex[2 * TM_TRACE_ID_LEN + 1];
		tm_id_to_hex(res.items[i].trace_id, TM_TRACE_ID_LEN, hex);
		rc = want(s, PAGE_TRACE, hex);
	}
	return rc ? fail(s, rc, "reading the slowest traces: %s", tm_store_strerror(rc)) : 0;
}

/*---- the whole export ----*/

static void report(struct site *s, FILE *out)
{
	size_t files = 0;
	uint64_t bytes = 0;
	fprintf(out, "tracemap export: traces that started in the last %s, into %s\n",
		s->opt->window_name, s->opt->out_dir);
	for (int k = 0; k < N_KINDS; k++) {
		fprintf(out, "  %-20s %5zu file%s %12" PRIu64 " bytes\n", kind_label[k],
			s->files[k], s->files[k] == 1 ? " " : "s", s->bytes[k]);
		files += s->files[k];
		bytes += s->bytes[k];
	}
	fprintf(out, "wrote %zu file%s, %" PRIu64 " bytes; open %s/index.html\n", files,
		files == 1 ? "" : "s", bytes, s->opt->out_dir);
	if (s->skipped_traces)
		fprintf(s->diag, "tracemap export: %zu links to traces beyond the %d trace pages "
			"it writes stay dangling\n", s->skipped_traces, MAX_TRACES);
	if (s->unnamed)
		fprintf(s->diag, "tracemap export: %zu links to pages whose names (with '/', or "
			"too long) cannot be file names stay dangling\n", s->unnamed);
	if (s->live_links)
		fprintf(s->diag, "tracemap export: %zu links point at a live server's paths "
			"(/...) and do not work from file://\n", s->live_links);
	if (s->foreign_links)
		fprintf(s->diag, "tracemap export: %zu links point at another host\n",
			s->foreign_links);
	if (s->odd_links)
		fprintf(s->diag, "tracemap export: %zu links name no page of the site (e.g. %s)\n",
			s->odd_links, s->odd_example);
}

static int export_pages(struct site *s)
{
	int rc = want(s, PAGE_MAP, "");
	if (!rc)
		rc = want_slowest(s);
	if (!rc)
		rc = want_services(s);
	if (rc && !s->err[0])
		fail(s, rc, "out of memory");
	for (size_t i = 0; !rc && i < s->n; i++)
		rc = write_page(s, i);
	return rc;
}

static const char *window_name(const char *since)
{
	static const char *const known[] = { "15m", "1h", "6h", "24h" };
	for (size_t i = 0; since && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(since, known[i]))
			return known[i];
	return "custom";
}

int tm_export_site(struct tm_store *st, const struct tm_export_options *opt, FILE *out,
		   FILE *diag, char *err, size_t errlen)
{
	struct site s = { .opt = opt, .diag = diag, .dfd = -1, .err = err, .errlen = errlen };
	char *old = NULL;
	err[0] = 0;
	tm_arena_init(&s.arena, 0);
	s.window = (struct tm_web_window){ opt->start_ns, opt->end_ns,
					   window_name(opt->window_name) };
	int rc = open_dir(&s, &old);
	if (!rc) {
		rc = tm_store_reader_begin(st, &s.rd);
		if (rc)
			fail(&s, rc, "reading the store: %s", tm_store_strerror(rc));
	}
	if (!rc) {
		s.ctx = (struct tm_web_ctx){ .rd = s.rd, .arena = &s.arena, .now_ns = opt->end_ns,
					     .static_site = 1 };
		rc = export_pages(&s);
		tm_store_reader_end(s.rd);
	}
	if (!rc) {
		remove_stale(&s, old);
		rc = write_marker(&s);
	}
	if (!rc && fsync(s.dfd) < 0)
		rc = fail(&s, -errno, "%s: %s", opt->out_dir, strerror(errno));
	if (!rc)
		report(&s, out);
	for (size_t i = 0; i < s.n; i++) {
		free(s.pages[i].arg);
		free(s.pages[i].file);
	}
	free(s.pages);
	free(old);
	tm_arena_clear(&s.arena);
	if (s.dfd >= 0)
		close(s.dfd);
	return rc;
}
