/*
 * durable.h — internal API for outputs that survive kill -9, full disks and read-only folders (checkpoints,
 * trained models, hub cache entries, any file the library writes):
 *
 *  - a file is written to NAME.tmp-PID, fsync'ed, renamed over NAME, and NAME's folder fsync'ed (afile_*,
 *    atomic_write): a reader sees the old file or the new one, never a part;
 *  - a folder is built as NAME.tmp-PID and put in place by adir_commit: a plain rename when NAME is absent, else
 *    renameat2(RENAME_EXCHANGE) (both stay whole at every instant) and the swapped-out copy removed; where the
 *    file system refuses the exchange, NAME is first renamed to NAME.old-PID (durable_sweep puts it back if the
 *    process dies before the new one is in place);
 *  - a folder is removed by renaming it to NAME.tmp-PID first (durable_remove), so no half-deleted folder ever
 *    carries its real name;
 *  - durable_sweep removes the NAME.tmp-PID / NAME.old-PID entries of processes that are no longer alive.
 *
 * Every failed write is BERTC_ERR_OUTPUT with the path and strerror (ENOSPC: "No space left on device").
 *
 * Test-only fault hook (never set in production): io_fault_set(n, e), or the environment variable
 * BERTC_TEST_IO_FAULT="N[:ERRNO]" (ERRNO: EIO, the default, ENOSPC, EROFS, EACCES, EDQUOT), read once per process,
 * makes the Nth I/O call made through these helpers (open for writing, write, fsync, rename, mkdir, symlink,
 * unlink of an output) fail with that errno; io_fault_calls() counts the calls made so far, so a test can
 * sweep N over a whole run.
 */
#ifndef BERTC_DURABLE_H
#define BERTC_DURABLE_H

#include "base/internal.h"

#include <sys/types.h>

void io_fault_set(long nth, int err);
long io_fault_calls(void);

/* Syscall wrappers that count toward the fault hook; they return what the syscall returns (errno set). */
int dio_open_write(const char *path, int flags, mode_t mode);
int dio_write_all(int fd, const void *data, size_t len);
int dio_fsync(int fd);
int dio_rename(const char *from, const char *to);
int dio_mkdir(const char *path, mode_t mode);
int dio_symlink(const char *target, const char *path);
int dio_unlink(const char *path);
int dio_fsync_dir(const char *dir);     /* EINVAL/ENOTSUP from a file system that cannot sync folders: success */
int dio_fsync_parent(const char *path); /* the folder that holds path */
bool dio_mkdirs(const char *path);      /* mkdir -p through dio_mkdir */

/* BERTC_ERR_OUTPUT with "what path: strerror(e)". */
bertc_status output_fail(bertc_error *err, int e, const char *what, const char *path);

typedef struct afile {
    char tmp[4200];
    char path[4200];
    int fd;
} afile;

bertc_status afile_open(afile *f, const char *path, bertc_error *err);
/* On failure the temporary is removed and f closed: do not call afile_abort after. */
bertc_status afile_write(afile *f, const void *data, size_t len, bertc_error *err);
bertc_status afile_commit(afile *f, bertc_error *err);
void afile_abort(afile *f);
bertc_status atomic_write(const char *path, const void *data, size_t len, bertc_error *err);

/* A new folder final.tmp-PID in tmp (an old one of this process removed first). */
bertc_status adir_begin(const char *final, char *tmp, size_t cap, bertc_error *err);
/* tmp's files must each be fsync'ed (atomic_write does); tmp itself, the rename and the parent are synced here. */
bertc_status adir_commit(const char *tmp, const char *final, bertc_error *err);
void adir_abort(const char *tmp);
/* Removes a folder or file so that it is never seen half-removed under its name. */
bertc_status durable_remove(const char *path, bertc_error *err);
/* rm -rf (no fault hook: removal of temporaries is best effort). */
int rm_tree(const char *path);
/* Stale temporaries in dir (see above); returns how many entries were removed or restored. */
int durable_sweep(const char *dir);
/* Creates dir if needed and proves it writable by creating, writing and removing a probe file. */
bertc_status check_writable(const char *dir, bertc_error *err);

#endif
