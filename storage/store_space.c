/* store_space.c - how much room the store takes, the watermark rule, and
 * compaction into a fresh file. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* LMDB's own table ids: the free-page list and the table of tables */
#define FREE_DBI 0
#define MAIN_DBI 1

/* the least room kept free below the bound, up to a quarter of it */
#define SMALL_SLACK (4ull << 20)

static uint64_t pages_of(const MDB_stat *s)
{
	return (uint64_t)s->ms_branch_pages + s->ms_leaf_pages + s->ms_overflow_pages;
}

int tm_store_space(struct tm_store *st, struct tm_store_space *out)
{
	memset(out, 0, sizeof(*out));
	MDB_txn *txn;
	int rc = store_errno(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (rc)
		return rc;
	MDB_dbi dbis[] = { FREE_DBI, MAIN_DBI, st->meta, st->chunks, st->tindex, st->buckets,
			   st->resources, st->scopes, st->commits, st->names, st->nameids,
			   st->tpiece, st->tsearch, st->rollups, st->profiles };
	uint64_t pages = 2;   /* the two meta pages */
	MDB_stat s;
	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]) && !rc; i++) {
		rc = store_errno(mdb_stat(txn, dbis[i], &s));
		pages += pages_of(&s);
	}
	MDB_envinfo info;
	mdb_env_info(st->env, &info);
	mdb_txn_abort(txn);
	if (rc)
		return rc;
	out->used_bytes = pages * s.ms_psize;
	out->file_bytes = ((uint64_t)info.me_last_pgno + 1) * s.ms_psize;
	out->map_bytes = info.me_mapsize;
	return 0;
}

void tm_space_plan(const struct tm_space_input *in, struct tm_space_plan *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t limit = in->max_bytes ? in->max_bytes : UINT64_MAX;
	uint64_t disk_room = in->disk_free_bytes > in->min_free_disk_bytes
				     ? in->disk_free_bytes - in->min_free_disk_bytes : 0;
	/* the file may grow only into the disk's room */
	if (in->file_bytes + disk_room < limit)
		limit = in->file_bytes + disk_room;
	out->limit_bytes = limit;
	/* deleting writes pages too (copies of every page it changes, and the
	 * pages freed are reused only two commits later): a small store keeps
	 * a larger share free */
	uint64_t slack = limit / 10, floor = limit / 4 < SMALL_SLACK ? limit / 4 : SMALL_SLACK;
	if (slack < floor)
		slack = floor;
	out->high_bytes = limit - slack;
	out->low_bytes = limit - 2 * slack;
	out->evict = in->used_bytes > out->high_bytes;
	out->low_disk = in->disk_free_bytes < in->min_free_disk_bytes &&
			in->used_bytes > out->high_bytes;
}

/*---- compaction ----*/

/* LMDB marks a process that has the environment open with a shared fcntl
 * lock on the first byte of lock.mdb; an exclusive lock there fails while
 * one has it, and makes a process that opens it later wait. */
static int lock_exclusively(const char *dir, int *fd_out)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;   /* never opened: nobody has it */
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	if (fcntl(fd, F_SETLK, &l) < 0) {
		int err = errno == EACCES || errno == EAGAIN ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

static uint64_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* copies with MDB_NOLOCK: LMDB then leaves lock.mdb, and our lock, alone */
static int copy_compacted(const char *dir, const char *tmp_dir)
{
	MDB_env *env;
	int rc = mdb_env_create(&env);
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 16);
	if (!rc)
		rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0640);
	if (!rc)
		rc = mdb_env_copy2(env, tmp_dir, MDB_CP_COMPACT);
	mdb_env_close(env);
	return store_errno(rc);
}

int tm_store_compact(const char *dir, uint64_t *before_bytes, uint64_t *after_bytes)
{
	char data[PATH_MAX], tmp_dir[PATH_MAX - 16], tmp_data[PATH_MAX];
	if (strlen(dir) >= sizeof(tmp_dir) - 16)
		return -ENAMETOOLONG;
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/compact.tmp", dir);
	snprintf(tmp_data, sizeof(tmp_data), "%s/data.mdb", tmp_dir);
	if (access(data, R_OK | W_OK) < 0)
		return -errno;
	int lock_fd = -1;
	int rc = lock_exclusively(dir, &lock_fd);
	if (rc)
		return rc;
	*before_bytes = file_size(data);
	unlink(tmp_data);   /* a copy an earlier run left behind */
	if (mkdir(tmp_dir, 0750) < 0 && errno != EEXIST)
		rc = -errno;
	if (!rc)
		rc = copy_compacted(dir, tmp_dir);
	if (!rc)
		rc = fsync_path(tmp_data, O_RDONLY);
	if (!rc && rename(tmp_data, data) < 0)
		rc = -errno;
	if (!rc)
		rc = fsync_path(dir, O_RDONLY | O_DIRECTORY);
	if (rc)
		unlink(tmp_data);
	rmdir(tmp_dir);
	*after_bytes = file_size(data);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
