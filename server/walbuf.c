/*
 * Copyright (c) 2026 The chat authors.
 *
 * walbuf: SQLite's writes to a WAL file, one transaction per system
 * call (see walbuf.h).  It relies on the WAL file format only
 * (https://www.sqlite.org/fileformat.html, "The WAL File Format"): a
 * 32-byte header naming the page size, then frames of a 24-byte header
 * and a page, the frame header's second word non-zero for the frame
 * that commits a transaction.  Writes to a -wal file are gathered while
 * each follows the last; a write elsewhere, or any other operation on
 * the file, writes out what is gathered first.  Other files (the
 * database) are passed through untouched.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "walbuf.h"

#define WB_NAME		"chat-walbuf"
#define WAL_HDR		32
#define FRAME_HDR	24
/* Gathered at most; a bigger transaction is written in such pieces. */
#define WB_MAX		(8 * 1024 * 1024)
/*
 * The default VFS writes at most 128 KiB - 1 in one call (unixWrite
 * masks the length to 17 bits: SQLite's own writes are pages), so
 * longer runs go down in pieces this long.
 */
#define WB_PIECE	(124 * 1024)
/* A buffer grown past this by a big transaction is given back. */
#define WB_KEEP		(1024 * 1024)

struct wb_file {
	sqlite3_file	 base;		/* first: SQLite sees this */
	sqlite3_file	*real;		/* the default VFS's, after us */
	int		 wal;		/* a -wal file: gather its writes */
	uint32_t	 pgsz;		/* from the WAL header; 0: not known */
	uint8_t		*buf;
	size_t		 len, cap;
	sqlite3_int64	 off;		/* file offset of buf[0] */
	sqlite3_int64	 commit_end;	/* write out once gathered to here */
};

/* Where the default VFS's file lives in ours. */
#define WB_REAL_OFF	((sizeof(struct wb_file) + 15) & ~(size_t)15)

static sqlite3_vfs	*wb_real;
static sqlite3_vfs	 wb_vfs;
static int		 wb_ready;
static struct walbuf_stats wb_st;

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A WAL header (magic 0x377f0682 or 0x377f0683): learn the page size. */
static void
wb_learn(struct wb_file *f, const uint8_t *p, int n, sqlite3_int64 off)
{
	uint32_t	v;

	if (off != 0 || n < WAL_HDR || (be32(p) & ~1U) != 0x377f0682)
		return;
	v = be32(p + 8);
	/* 65536 does not fit the field's 16 bits: it is written as 1. */
	if (v == 1)
		v = 65536;
	if (v >= 512 && v <= 65536 && (v & (v - 1)) == 0)
		f->pgsz = v;
}

static int
wb_flush(struct wb_file *f)
{
	size_t	done, n;
	int	rc = SQLITE_OK;

	for (done = 0; done < f->len && rc == SQLITE_OK; done += n) {
		n = f->len - done < WB_PIECE ? f->len - done : WB_PIECE;
		wb_st.writes++;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
		    f->off + (sqlite3_int64)done);
	}
	f->len = 0;
	f->commit_end = 0;
	if (f->cap > WB_KEEP) {
		free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
	return rc;
}

static int
wb_close(sqlite3_file *p)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc, rc2;

	rc = wb_flush(f);
	rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_read(sqlite3_file *p, void *b, int n, sqlite3_int64 off)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xRead(f->real, b, n, off);
	if (rc == SQLITE_OK && f->wal)
		wb_learn(f, b, n, off);
	return rc;
}

/* Does the write of n bytes at off start a frame that commits? */
static int
wb_commit_frame(const struct wb_file *f, const uint8_t *p, int n,
    sqlite3_int64 off)
{
	return off >= WAL_HDR && n >= FRAME_HDR &&
	    (off - WAL_HDR) % (FRAME_HDR + f->pgsz) == 0 && be32(p + 4) != 0;
}

static int
wb_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 off)
{
	struct wb_file	*f = (struct wb_file *)p;
	size_t		 ncap;
	uint8_t		*nb;
	int		 rc;

	if (f->wal) {
		wb_st.calls++;
		wb_learn(f, b, n, off);
	}
	if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len ||
	    f->len + (size_t)n > WB_MAX) && (rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	if (!f->wal || f->pgsz == 0 || n <= 0 || n > WB_PIECE) {
		/*
		 * Written past what is gathered: that goes first, or a
		 * commit frame's header could wait in the buffer after its
		 * page is in the file (pages are at most 64 KB, so only a
		 * safeguard).
		 */
		if (f->len > 0 && (rc = wb_flush(f)) != SQLITE_OK)
			return rc;
		if (f->wal)
			wb_st.writes++;
		return f->real->pMethods->xWrite(f->real, b, n, off);
	}
	if (f->len + (size_t)n > f->cap) {
		ncap = f->cap > 0 ? f->cap : 65536;
		while (ncap < f->len + (size_t)n)
			ncap *= 2;
		if ((nb = realloc(f->buf, ncap)) == NULL) {
			if ((rc = wb_flush(f)) != SQLITE_OK)
				return rc;
			wb_st.writes++;
			return f->real->pMethods->xWrite(f->real, b, n, off);
		}
		f->buf = nb;
		f->cap = ncap;
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, b, (size_t)n);
	f->len += (size_t)n;
	if (wb_commit_frame(f, b, n, off))
		f->commit_end = off + FRAME_HDR + f->pgsz;
	/* The commit frame is whole: write the transaction out now. */
	if (f->commit_end != 0 &&
	    f->off + (sqlite3_int64)f->len >= f->commit_end)
		return wb_flush(f);
	return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *p, int flags)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int
wb_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *p, int l)
{
	struct wb_file	*f = (struct wb_file *)p;

	return f->real->pMethods->xLock(f->real, l);
}

static int
wb_unlock(sqlite3_file *p, int l)
{
	struct wb_file	*f = (struct wb_file *)p;

	return f->real->pMethods->xUnlock(f->real, l);
}

static int
wb_reserved(sqlite3_file *p, int *out)
{
	struct wb_file	*f = (struct wb_file *)p;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_control(sqlite3_file *p, int op, void *arg)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	/* Some controls size or sync the file: nothing may be pending. */
	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector(sqlite3_file *p)
{
	struct wb_file	*f = (struct wb_file *)p;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_device(sqlite3_file *p)
{
	struct wb_file	*f = (struct wb_file *)p;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
wb_shm_map(sqlite3_file *p, int pg, int pgsz, int extend,
    void volatile **out)
{
	struct wb_file	*f = (struct wb_file *)p;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, out);
}

static int
wb_shm_lock(sqlite3_file *p, int off, int n, int flags)
{
	struct wb_file	*f = (struct wb_file *)p;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR;
	return f->real->pMethods->xShmLock(f->real, off, n, flags);
}

static void
wb_shm_barrier(sqlite3_file *p)
{
	struct wb_file	*f = (struct wb_file *)p;

	if (f->real->pMethods->iVersion >= 2)
		f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *p, int del)
{
	struct wb_file	*f = (struct wb_file *)p;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_OK;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int
wb_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	*out = NULL;
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int
wb_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	struct wb_file	*f = (struct wb_file *)p;

	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return f->real->pMethods->xUnfetch(f->real, off, page);
}

static const sqlite3_io_methods wb_io = {
	3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_size,
	wb_lock, wb_unlock, wb_reserved, wb_control, wb_sector, wb_device,
	wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch,
	wb_unfetch
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags,
    int *out)
{
	struct wb_file	*f = (struct wb_file *)p;
	int		 rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)((char *)f + WB_REAL_OFF);
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = wb_real->xOpen(wb_real, name, f->real, flags, out);
	/* As the VFS contract says: no methods, no xClose. */
	f->base.pMethods = f->real->pMethods != NULL ? &wb_io : NULL;
	return rc;
}

/* The rest is the default VFS's, called with its own object. */
static int
wb_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return wb_real->xDelete(wb_real, name, sync);
}

static int
wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return wb_real->xAccess(wb_real, name, flags, out);
}

static int
wb_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return wb_real->xFullPathname(wb_real, name, n, out);
}

static int
wb_random(sqlite3_vfs *vfs, int n, char *out)
{
	return wb_real->xRandomness(wb_real, n, out);
}

static int
wb_sleep(sqlite3_vfs *vfs, int us)
{
	return wb_real->xSleep(wb_real, us);
}

static int
wb_time(sqlite3_vfs *vfs, double *out)
{
	return wb_real->xCurrentTime(wb_real, out);
}

static int
wb_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	return wb_real->xGetLastError(wb_real, n, out);
}

static int
wb_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return wb_real->xCurrentTimeInt64(wb_real, out);
}

static void *
wb_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return wb_real->xDlOpen(wb_real, name);
}

static void
wb_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	wb_real->xDlError(wb_real, n, out);
}

static void
(*wb_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return wb_real->xDlSym(wb_real, h, sym);
}

static void
wb_dlclose(sqlite3_vfs *vfs, void *h)
{
	wb_real->xDlClose(wb_real, h);
}

const char *
walbuf_vfs(void)
{
	if (wb_ready)
		return WB_NAME;
	if ((wb_real = sqlite3_vfs_find(NULL)) == NULL)
		return NULL;
	memset(&wb_vfs, 0, sizeof(wb_vfs));
	/* Version 2: no system call overrides, which are the default's. */
	wb_vfs.iVersion = 2;
	wb_vfs.szOsFile = (int)WB_REAL_OFF + wb_real->szOsFile;
	wb_vfs.mxPathname = wb_real->mxPathname;
	wb_vfs.zName = WB_NAME;
	wb_vfs.xOpen = wb_open;
	wb_vfs.xDelete = wb_delete;
	wb_vfs.xAccess = wb_access;
	wb_vfs.xFullPathname = wb_fullpath;
	wb_vfs.xDlOpen = wb_dlopen;
	wb_vfs.xDlError = wb_dlerror;
	wb_vfs.xDlSym = wb_dlsym;
	wb_vfs.xDlClose = wb_dlclose;
	wb_vfs.xRandomness = wb_random;
	wb_vfs.xSleep = wb_sleep;
	wb_vfs.xCurrentTime = wb_time;
	wb_vfs.xGetLastError = wb_lasterr;
	if (wb_real->iVersion >= 2 && wb_real->xCurrentTimeInt64 != NULL)
		wb_vfs.xCurrentTimeInt64 = wb_time64;
	else
		wb_vfs.iVersion = 1;
	if (sqlite3_vfs_register(&wb_vfs, 0) != SQLITE_OK)
		return NULL;
	wb_ready = 1;
	return WB_NAME;
}

void
walbuf_stats(struct walbuf_stats *st)
{
	*st = wb_st;
}
