/* A VFS that loses unsynced writes at a power cut: see hl_testvfs.h. */
#include "tests/lib/hl_testvfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct tv_write {
	sqlite3_int64 off;
	int n;
	unsigned char *data;
};

/* What the "OS" holds for one file name and has not written to the disk:
 * shared by every handle on it, kept after the last close (a page cache
 * outlives a close), gone at a cut. */
struct tv_node {
	char *name;
	int refs;
	struct tv_write *w;        /* unsynced writes, in order */
	size_t nw, capw;
	sqlite3_int64 trunc;       /* unsynced truncation, -1 none */
	struct tv_node *next;
};

struct tv_file {
	sqlite3_file base;
	sqlite3_file *real;        /* unix's file, in the same allocation */
	struct tv_node *node;      /* databases, WALs, journals; else NULL */
	unsigned epoch;            /* the power epoch it was opened in */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs vfs;
static sqlite3_vfs *unix_vfs;
static struct tv_node *nodes;
static unsigned epoch;          /* bumped by every cut */
static int powered = 1;
static long armed;              /* ops until the cut; 0 none */
static int cut_done;
static struct hl_testvfs_stats st;

static int
dead(const struct tv_file *f)
{
	return f->epoch != epoch;
}

static void
drop(struct tv_node *f)
{
	for (size_t i = 0; i < f->nw; i++)
		free(f->w[i].data);
	st.dropped_writes += (long)f->nw;
	f->nw = 0;
	f->trunc = -1;
}

static void
cut_locked(void)
{
	for (struct tv_node *n = nodes; n != NULL; n = n->next)
		drop(n);
	epoch++;
	powered = 0;
	armed = 0;
	cut_done = 1;
	st.cuts++;
}

/* Counts one write or sync; 1 when the power went at it. */
static int
tick(void)
{
	if (armed > 0 && --armed == 0) {
		cut_locked();
		return 1;
	}
	return 0;
}

static sqlite3_int64
logical_size(struct tv_node *f, sqlite3_int64 real_size)
{
	sqlite3_int64 n = real_size;
	if (f->trunc >= 0 && f->trunc < n)
		n = f->trunc;
	for (size_t i = 0; i < f->nw; i++)
		if (f->w[i].off + f->w[i].n > n)
			n = f->w[i].off + f->w[i].n;
	return n;
}

static int
tv_close(sqlite3_file *pf)
{
	struct tv_file *f = (struct tv_file *)pf;
	pthread_mutex_lock(&lock);
	if (f->node != NULL)
		f->node->refs--;
	f->node = NULL;
	pthread_mutex_unlock(&lock);
	return f->real->pMethods->xClose(f->real);
}

static int
tv_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
	struct tv_file *pfile = (struct tv_file *)pf;
	struct tv_node *f = pfile->node;
	if (f == NULL)
		return pfile->real->pMethods->xRead(pfile->real, buf, amt, off);
	sqlite3_file *real = pfile->real;
	pthread_mutex_lock(&lock);
	sqlite3_int64 real_size = 0;
	real->pMethods->xFileSize(real, &real_size);
	int rc = real->pMethods->xRead(real, buf, amt, off);
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
		pthread_mutex_unlock(&lock);
		return rc;
	}
	unsigned char *b = buf;
	if (f->trunc >= 0 && off + amt > f->trunc) {
		sqlite3_int64 from = f->trunc > off ? f->trunc - off : 0;
		memset(b + from, 0, (size_t)(amt - from));
	}
	for (size_t i = 0; i < f->nw; i++) {
		struct tv_write *w = &f->w[i];
		sqlite3_int64 lo = w->off > off ? w->off : off;
		sqlite3_int64 hi = w->off + w->n < off + amt ? w->off + w->n : off + amt;
		if (lo < hi)
			memcpy(b + (lo - off), w->data + (lo - w->off), (size_t)(hi - lo));
	}
	sqlite3_int64 size = logical_size(f, real_size);
	pthread_mutex_unlock(&lock);
	if (off + amt > size) {
		sqlite3_int64 from = size > off ? size - off : 0;
		memset(b + from, 0, (size_t)(amt - from));
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int
tv_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
	struct tv_file *pfile = (struct tv_file *)pf;
	struct tv_node *f = pfile->node;
	if (f == NULL)
		return pfile->real->pMethods->xWrite(pfile->real, buf, amt, off);
	pthread_mutex_lock(&lock);
	st.writes++;
	if (dead(pfile) || tick()) {
		pthread_mutex_unlock(&lock);
		return SQLITE_IOERR_WRITE;
	}
	if (f->nw == f->capw) {
		size_t cap = f->capw ? f->capw * 2 : 64;
		void *p = realloc(f->w, cap * sizeof *f->w);
		if (p == NULL) {
			pthread_mutex_unlock(&lock);
			return SQLITE_IOERR_NOMEM;
		}
		f->w = p;
		f->capw = cap;
	}
	unsigned char *d = malloc((size_t)amt);
	if (d == NULL) {
		pthread_mutex_unlock(&lock);
		return SQLITE_IOERR_NOMEM;
	}
	memcpy(d, buf, (size_t)amt);
	f->w[f->nw++] = (struct tv_write){ off, amt, d };
	pthread_mutex_unlock(&lock);
	return SQLITE_OK;
}

static int
tv_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	struct tv_file *pfile = (struct tv_file *)pf;
	struct tv_node *f = pfile->node;
	if (f == NULL)
		return pfile->real->pMethods->xTruncate(pfile->real, size);
	pthread_mutex_lock(&lock);
	if (dead(pfile)) {
		pthread_mutex_unlock(&lock);
		return SQLITE_IOERR_TRUNCATE;
	}
	/* Writes past the new end go; what stays is cut at it. */
	size_t k = 0;
	for (size_t i = 0; i < f->nw; i++) {
		struct tv_write *w = &f->w[i];
		if (w->off >= size) {
			free(w->data);
			continue;
		}
		if (w->off + w->n > size)
			w->n = (int)(size - w->off);
		f->w[k++] = *w;
	}
	f->nw = k;
	if (f->trunc < 0 || size < f->trunc)
		f->trunc = size;
	pthread_mutex_unlock(&lock);
	return SQLITE_OK;
}

static int
tv_sync(sqlite3_file *pf, int flags)
{
	struct tv_file *pfile = (struct tv_file *)pf;
	struct tv_node *f = pfile->node;
	sqlite3_file *real = pfile->real;
	if (f == NULL)
		return real->pMethods->xSync(real, flags);
	pthread_mutex_lock(&lock);
	st.syncs++;
	if (dead(pfile) || tick()) {
		pthread_mutex_unlock(&lock);
		return SQLITE_IOERR_FSYNC;
	}
	int rc = SQLITE_OK;
	if (f->trunc >= 0)
		rc = real->pMethods->xTruncate(real, f->trunc);
	for (size_t i = 0; i < f->nw && rc == SQLITE_OK; i++)
		rc = real->pMethods->xWrite(real, f->w[i].data, f->w[i].n,
		    f->w[i].off);
	for (size_t i = 0; i < f->nw; i++)
		free(f->w[i].data);
	f->nw = 0;
	f->trunc = -1;
	pthread_mutex_unlock(&lock);
	return rc;
}

static int
tv_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	struct tv_file *f = (struct tv_file *)pf;
	int rc = f->real->pMethods->xFileSize(f->real, size);
	if (rc != SQLITE_OK || f->node == NULL)
		return rc;
	pthread_mutex_lock(&lock);
	*size = logical_size(f->node, *size);
	pthread_mutex_unlock(&lock);
	return SQLITE_OK;
}

static int
tv_lock(sqlite3_file *pf, int l)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xLock(f->real, l);
}

static int
tv_unlock(sqlite3_file *pf, int l)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xUnlock(f->real, l);
}

static int
tv_check_reserved(sqlite3_file *pf, int *out)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
tv_file_control(sqlite3_file *pf, int op, void *arg)
{
	struct tv_file *f = (struct tv_file *)pf;
	/* These would grow the real file behind the overlay's back. */
	if (f->node != NULL && (op == SQLITE_FCNTL_SIZE_HINT ||
	    op == SQLITE_FCNTL_CHUNK_SIZE))
		return SQLITE_OK;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
tv_sector_size(sqlite3_file *pf)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xSectorSize(f->real);
}

static int
tv_device(sqlite3_file *pf)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* The wal-index is rebuilt after a crash: it passes straight through. */
static int
tv_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int
tv_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
tv_shm_barrier(sqlite3_file *pf)
{
	struct tv_file *f = (struct tv_file *)pf;
	f->real->pMethods->xShmBarrier(f->real);
}

static int
tv_shm_unmap(sqlite3_file *pf, int del)
{
	struct tv_file *f = (struct tv_file *)pf;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

/* Version 2: no xFetch, so SQLite never maps the file past the overlay. */
static const sqlite3_io_methods tv_methods = {
	.iVersion = 2,
	.xClose = tv_close,
	.xRead = tv_read,
	.xWrite = tv_write,
	.xTruncate = tv_truncate,
	.xSync = tv_sync,
	.xFileSize = tv_file_size,
	.xLock = tv_lock,
	.xUnlock = tv_unlock,
	.xCheckReservedLock = tv_check_reserved,
	.xFileControl = tv_file_control,
	.xSectorSize = tv_sector_size,
	.xDeviceCharacteristics = tv_device,
	.xShmMap = tv_shm_map,
	.xShmLock = tv_shm_lock,
	.xShmBarrier = tv_shm_barrier,
	.xShmUnmap = tv_shm_unmap,
};

/* The node of name, made when new. Under the lock. */
static struct tv_node *
node_get(const char *name)
{
	for (struct tv_node *n = nodes; n != NULL; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	struct tv_node *n = calloc(1, sizeof *n);
	if (n == NULL || (n->name = strdup(name)) == NULL) {
		free(n);
		return NULL;
	}
	n->trunc = -1;
	n->next = nodes;
	nodes = n;
	return n;
}

static int
tv_open(sqlite3_vfs *v, const char *name, sqlite3_file *pf, int flags,
    int *out_flags)
{
	(void)v;
	struct tv_file *f = (struct tv_file *)pf;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	int rc = unix_vfs->xOpen(unix_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		pf->pMethods = NULL;
		return rc;
	}
	f->base.pMethods = &tv_methods;
	int tracked = name != NULL && (flags & (SQLITE_OPEN_MAIN_DB |
	    SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL |
	    SQLITE_OPEN_SUPER_JOURNAL)) != 0;
	pthread_mutex_lock(&lock);
	f->epoch = epoch;
	if (tracked) {
		f->node = node_get(name);
		if (f->node == NULL) {
			pthread_mutex_unlock(&lock);
			f->real->pMethods->xClose(f->real);
			pf->pMethods = NULL;
			return SQLITE_NOMEM;
		}
		f->node->refs++;
	}
	pthread_mutex_unlock(&lock);
	return SQLITE_OK;
}

static int
tv_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	pthread_mutex_lock(&lock);
	if (!powered) {
		pthread_mutex_unlock(&lock);
		return SQLITE_IOERR_DELETE;
	}
	for (struct tv_node *n = nodes; n != NULL; n = n->next)
		if (strcmp(n->name, name) == 0) {
			for (size_t i = 0; i < n->nw; i++)
				free(n->w[i].data);
			n->nw = 0;
			n->trunc = -1;
		}
	int rc = unix_vfs->xDelete(unix_vfs, name, sync_dir);
	pthread_mutex_unlock(&lock);
	return rc;
}

static int
tv_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return unix_vfs->xAccess(unix_vfs, name, flags, out);
}

static int
tv_full_path(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return unix_vfs->xFullPathname(unix_vfs, name, n, out);
}

static int
tv_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return unix_vfs->xRandomness(unix_vfs, n, out);
}

static int
tv_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return unix_vfs->xSleep(unix_vfs, us);
}

static int
tv_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return unix_vfs->xCurrentTime(unix_vfs, out);
}

static int
tv_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return unix_vfs->xGetLastError(unix_vfs, n, out);
}

static int
tv_current_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return unix_vfs->xCurrentTimeInt64(unix_vfs, out);
}

int
hl_testvfs_register(void)
{
	if (unix_vfs != NULL)
		return 0;
	if (sqlite3_initialize() != SQLITE_OK)
		return -1;
	unix_vfs = sqlite3_vfs_find("unix");
	if (unix_vfs == NULL)
		return -1;
	vfs.iVersion = 2;
	vfs.szOsFile = (int)sizeof(struct tv_file) + unix_vfs->szOsFile;
	vfs.mxPathname = unix_vfs->mxPathname;
	vfs.zName = "hl_testvfs";
	vfs.xOpen = tv_open;
	vfs.xDelete = tv_delete;
	vfs.xAccess = tv_access;
	vfs.xFullPathname = tv_full_path;
	vfs.xDlOpen = NULL;
	vfs.xRandomness = tv_random;
	vfs.xSleep = tv_sleep;
	vfs.xCurrentTime = tv_current_time;
	vfs.xGetLastError = tv_last_error;
	vfs.xCurrentTimeInt64 = tv_current_time64;
	if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
		unix_vfs = NULL;
		return -1;
	}
	return 0;
}

void
hl_testvfs_arm(long n)
{
	pthread_mutex_lock(&lock);
	armed = n > 0 ? n : 0;
	cut_done = 0;
	pthread_mutex_unlock(&lock);
}

int
hl_testvfs_cut_done(void)
{
	pthread_mutex_lock(&lock);
	int d = cut_done;
	pthread_mutex_unlock(&lock);
	return d;
}

void
hl_testvfs_cut(void)
{
	pthread_mutex_lock(&lock);
	cut_locked();
	pthread_mutex_unlock(&lock);
}

void
hl_testvfs_power_on(void)
{
	pthread_mutex_lock(&lock);
	powered = 1;
	pthread_mutex_unlock(&lock);
}

void
hl_testvfs_stats(struct hl_testvfs_stats *out)
{
	pthread_mutex_lock(&lock);
	*out = st;
	pthread_mutex_unlock(&lock);
}
