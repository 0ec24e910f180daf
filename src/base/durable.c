/*
 * durable.c — atomic files and folders, stale temporaries, writability checks and the test-only I/O fault hook
 * (see durable.h).
 */
#include "durable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- the test-only fault hook ---- */

static atomic_long fault_nth = -1; /* -1: not read from the environment yet; 0: off */
static atomic_int fault_errno = EIO;
static atomic_long fault_calls;

static int errno_by_name(const char *s) {
    static const struct {
        const char *name;
        int e;
    } names[] = {{"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EACCES", EACCES}, {"EDQUOT", EDQUOT}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i].name)) return names[i].e;
    int v = atoi(s);
    return v > 0 ? v : EIO;
}

void io_fault_set(long nth, int err) {
    atomic_store(&fault_errno, err ? err : EIO);
    atomic_store(&fault_calls, 0);
    atomic_store(&fault_nth, nth > 0 ? nth : 0);
}

long io_fault_calls(void) { return atomic_load(&fault_calls); }

/* true when this call is to fail (errno set) */
static bool faulted(void) {
    long n = atomic_load(&fault_nth);
    if (n < 0) {
        const char *v = getenv("BERTC_TEST_IO_FAULT");
        long want = 0;
        int e = EIO;
        if (v && *v) {
            want = strtol(v, NULL, 10);
            const char *c = strchr(v, ':');
            if (c) e = errno_by_name(c + 1);
        }
        long expect = -1;
        if (atomic_compare_exchange_strong(&fault_nth, &expect, want > 0 ? want : 0)) atomic_store(&fault_errno, e);
        n = atomic_load(&fault_nth);
    }
    long k = atomic_fetch_add(&fault_calls, 1) + 1;
    if (n > 0 && k == n) {
        errno = atomic_load(&fault_errno);
        return true;
    }
    return false;
}

int dio_open_write(const char *path, int flags, mode_t mode) {
    if (faulted()) return -1;
    return open(path, flags | O_CLOEXEC, mode);
}

int dio_write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        if (faulted()) return -1;
        ssize_t w = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int dio_fsync(int fd) {
    if (faulted()) return -1;
    return fsync(fd);
}

int dio_rename(const char *from, const char *to) {
    if (faulted()) return -1;
    return rename(from, to);
}

static int dio_renameat2(const char *from, const char *to, unsigned flags) {
    if (faulted()) return -1;
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, flags);
}

int dio_mkdir(const char *path, mode_t mode) {
    if (faulted()) return -1;
    return mkdir(path, mode);
}

int dio_symlink(const char *target, const char *path) {
    if (faulted()) return -1;
    return symlink(target, path);
}

int dio_unlink(const char *path) {
    if (faulted()) return -1;
    return unlink(path);
}

int dio_fsync_dir(const char *dir) {
    if (faulted()) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0 && (e == EINVAL || e == ENOTSUP || e == EBADF)) return 0; /* a file system that cannot sync folders */
    errno = e;
    return r;
}

int dio_fsync_parent(const char *path) {
    char dir[4400];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash) return dio_fsync_dir(".");
    if (slash == dir) slash[1] = 0;
    else *slash = 0;
    return dio_fsync_dir(dir);
}

bool dio_mkdirs(const char *path) {
    char tmp[4400];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    struct stat st;
    if (stat(tmp, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return true;
        errno = ENOTDIR;
        return false;
    }
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (stat(tmp, &st) != 0 && dio_mkdir(tmp, 0755) && errno != EEXIST) return false;
        *q = '/';
    }
    return !dio_mkdir(tmp, 0755) || errno == EEXIST;
}

bertc_status output_fail(bertc_error *err, int e, const char *what, const char *path) {
    return bertc_fail(err, BERTC_ERR_OUTPUT, "%s %s: %s", what, path, strerror(e));
}

/* ---- files ---- */

bertc_status afile_open(afile *f, const char *path, bertc_error *err) {
    f->fd = -1;
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path ||
        snprintf(f->tmp, sizeof f->tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof f->tmp)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", path);
    f->fd = dio_open_write(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f->fd < 0) return output_fail(err, errno, "cannot create", f->tmp);
    return BERTC_OK;
}

void afile_abort(afile *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    unlink(f->tmp);
}

bertc_status afile_write(afile *f, const void *data, size_t len, bertc_error *err) {
    if (dio_write_all(f->fd, data, len) != 0) {
        int e = errno;
        afile_abort(f);
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot write %s: %s (nothing was replaced)", f->path, strerror(e));
    }
    return BERTC_OK;
}

bertc_status afile_commit(afile *f, bertc_error *err) {
    if (dio_fsync(f->fd) != 0) {
        int e = errno;
        afile_abort(f);
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot write %s: %s (nothing was replaced)", f->path, strerror(e));
    }
    int r = close(f->fd);
    int e = errno;
    f->fd = -1;
    if (r != 0) {
        afile_abort(f);
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot write %s: %s (nothing was replaced)", f->path, strerror(e));
    }
    if (dio_rename(f->tmp, f->path) != 0) {
        e = errno;
        afile_abort(f);
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot rename %s to %s: %s", f->tmp, f->path, strerror(e));
    }
    if (dio_fsync_parent(f->path) != 0) return output_fail(err, errno, "cannot sync the folder of", f->path);
    return BERTC_OK;
}

bertc_status atomic_write(const char *path, const void *data, size_t len, bertc_error *err) {
    afile f;
    bertc_status s = afile_open(&f, path, err);
    if (s) return s;
    if ((s = afile_write(&f, data, len, err))) return s;
    return afile_commit(&f, err);
}

/* ---- folders ---- */

int rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4400];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
        rm_tree(sub);
    }
    closedir(d);
    return rmdir(path);
}

bertc_status adir_begin(const char *final, char *tmp, size_t cap, bertc_error *err) {
    if (snprintf(tmp, cap, "%s.tmp-%ld", final, (long)getpid()) >= (int)cap)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", final);
    rm_tree(tmp);
    if (dio_mkdir(tmp, 0755) != 0) return output_fail(err, errno, "cannot create", tmp);
    return BERTC_OK;
}

void adir_abort(const char *tmp) { rm_tree(tmp); }

bertc_status adir_commit(const char *tmp, const char *final, bertc_error *err) {
    if (dio_fsync_dir(tmp) != 0) {
        int e = errno;
        rm_tree(tmp);
        return output_fail(err, e, "cannot sync", tmp);
    }
    struct stat st;
    if (lstat(final, &st) != 0) {
        if (dio_rename(tmp, final) != 0) {
            int e = errno;
            rm_tree(tmp);
            return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp, final, strerror(e));
        }
    } else if (dio_renameat2(tmp, final, RENAME_EXCHANGE) == 0) {
        /* final is the new folder; tmp holds the old one, removed below */
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        /* no exchange on this file system: the old copy aside under a name durable_sweep restores */
        char old[4400];
        if (snprintf(old, sizeof old, "%s.old-%ld", final, (long)getpid()) >= (int)sizeof old) {
            rm_tree(tmp);
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", final);
        }
        rm_tree(old);
        if (dio_rename(final, old) != 0 || dio_rename(tmp, final) != 0) {
            int e = errno;
            if (lstat(final, &st) != 0) rename(old, final);
            rm_tree(tmp);
            return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp, final, strerror(e));
        }
        if (dio_fsync_parent(final) != 0) return output_fail(err, errno, "cannot sync the folder of", final);
        rm_tree(old);
        return BERTC_OK;
    } else {
        int e = errno;
        rm_tree(tmp);
        return bertc_fail(err, BERTC_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp, final, strerror(e));
    }
    if (dio_fsync_parent(final) != 0) {
        int e = errno;
        rm_tree(tmp);
        return output_fail(err, e, "cannot sync the folder of", final);
    }
    rm_tree(tmp); /* the old copy, if any: a kill here leaves a stale NAME.tmp-PID that durable_sweep removes */
    return BERTC_OK;
}

bertc_status durable_remove(const char *path, bertc_error *err) {
    char aside[4400];
    struct stat st;
    if (lstat(path, &st) != 0) return BERTC_OK;
    if (snprintf(aside, sizeof aside, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof aside)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", path);
    rm_tree(aside);
    if (dio_rename(path, aside) != 0) return output_fail(err, errno, "cannot remove", path);
    int r = dio_fsync_parent(path), e = errno;
    rm_tree(aside);
    return r ? output_fail(err, e, "cannot sync the folder of", path) : BERTC_OK;
}

/* the PID of NAME.tmp-PID / NAME.old-PID (kind 't' or 'o'), else 0 */
static long temp_pid(const char *name, char *kind, size_t *base_len) {
    const char *dot = strrchr(name, '.');
    if (!dot || (strncmp(dot, ".tmp-", 5) && strncmp(dot, ".old-", 5)) || dot == name) return 0;
    const char *d = dot + 5;
    if (!*d) return 0;
    for (const char *q = d; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    long pid = strtol(d, NULL, 10);
    *kind = dot[1];
    *base_len = (size_t)(dot - name);
    return pid;
}

int durable_sweep(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    char names[64][256];
    int k = 0;
    /* collect first (renaming while reading a folder may show an entry twice), at most 64 per call */
    while ((e = readdir(d)) && k < 64) {
        char kind;
        size_t bl;
        long pid = temp_pid(e->d_name, &kind, &bl);
        if (pid <= 0 || pid == (long)getpid() || strlen(e->d_name) >= sizeof names[0]) continue;
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM) continue; /* its writer is alive */
        snprintf(names[k++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 0; i < k; i++) {
        char kind;
        size_t bl;
        temp_pid(names[i], &kind, &bl);
        char path[4400], base[4400];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path ||
            snprintf(base, sizeof base, "%s/%.*s", dir, (int)bl, names[i]) >= (int)sizeof base)
            continue;
        struct stat st;
        if (kind == 'o' && lstat(base, &st) != 0) {
            if (rename(path, base) == 0) n++; /* died between the two renames of a fallback replace: put it back */
            continue;
        }
        if (rm_tree(path) == 0) n++;
    }
    if (n) dio_fsync_dir(dir);
    return n;
}

bertc_status check_writable(const char *dir, bertc_error *err) {
    if (!dio_mkdirs(dir)) return output_fail(err, errno, "cannot create the output folder", dir);
    char probe[4400];
    if (snprintf(probe, sizeof probe, "%s/.bertc-write-check.tmp-%ld", dir, (long)getpid()) >= (int)sizeof probe)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", dir);
    int fd = dio_open_write(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return output_fail(err, errno, "the output folder is not writable:", dir);
    int r = dio_write_all(fd, "x", 1);
    int e = errno;
    close(fd);
    unlink(probe);
    if (r != 0) return output_fail(err, e, "the output folder is not writable:", dir);
    return BERTC_OK;
}

bertc_status bertc_write_file(const char *path, const void *data, size_t len, bertc_error *err) {
    if (!path || (!data && len)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_write_file: no path or data");
    return atomic_write(path, data, len, err);
}

bertc_status bertc_check_output(const char *path, bertc_error *err) {
    if (!path || !*path) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_check_output: no path");
    char dir[4200];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "path too long: %.200s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    struct stat st;
    if (!stat(path, &st) && S_ISDIR(st.st_mode))
        return bertc_fail(err, BERTC_ERR_OUTPUT, "%.300s is a folder, not a file", path);
    return check_writable(dir, err);
}
