/* io/outfile.c — see io/outfile.h. */
#define _GNU_SOURCE
#include "io/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

const char *st_out_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symlink"
         : S_ISREG(m) ? "a regular file" : "not a regular file";
}

int st_out_resolve(const char *path, char **resolved, int *exists, st_err *err)
{
    *resolved = NULL;
    *exists = 0;
    struct stat ls, st;
    if (lstat(path, &ls) != 0) {
        if (errno != ENOENT)
            return st_seterr(err, STRATA_ERR_IO, "cannot use output file %s: %s", path, strerror(errno));
        *resolved = strdup(path);
        return *resolved ? STRATA_OK : st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    }
    if (stat(path, &st) != 0)
        return st_seterr(err, STRATA_ERR_IO, "output file %s is a symlink to a missing file (%s)",
                         path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return st_seterr(err, STRATA_ERR_IO,
                         "output file %s is not a regular file (it is %s%s); strata writes and "
                         "replaces only regular files", path,
                         S_ISLNK(ls.st_mode) ? "a symlink to " : "", st_out_kind(st.st_mode));
    *exists = 1;
    if (S_ISLNK(ls.st_mode)) {
        *resolved = realpath(path, NULL);
        if (!*resolved)
            return st_seterr(err, STRATA_ERR_IO, "cannot resolve symlink %s: %s", path, strerror(errno));
    } else {
        *resolved = strdup(path);
        if (!*resolved) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    }
    return STRATA_OK;
}

int st_out_same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int st_out_can_create(const char *path, st_err *err)
{
    size_t n = strlen(path) + sizeof ".probe-XXXXXX";
    char *probe = malloc(n);
    if (!probe) return st_seterr(err, STRATA_ERR_NOMEM, "out of memory");
    snprintf(probe, n, "%s.probe-XXXXXX", path);
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(probe);
        return st_seterr(err, STRATA_ERR_IO, "cannot create output file %s: %s", path, strerror(e));
    }
    close(fd);
    unlink(probe);
    free(probe);
    return STRATA_OK;
}

int st_out_lock(const char *path, int create, int *fd_out, st_err *err)
{
    *fd_out = -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | (create ? O_CREAT : 0), 0666);
        if (fd < 0) {
            int e = errno;
            if (e == ELOOP)
                return st_seterr(err, STRATA_ERR_IO, "output file %s changed into a symlink", path);
            return st_seterr(err, STRATA_ERR_IO, "cannot open %s for writing: %s", path, strerror(e));
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return st_seterr(err, STRATA_ERR_IO,
                             "output file %s is not a regular file (it is %s); strata writes and "
                             "replaces only regular files", path, st_out_kind(st.st_mode));
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return st_seterr(err, STRATA_ERR_STATE,
                                 "%s is in use by another process (it holds a lock on the file: "
                                 "another strata capture writing it, or a reader such as h5py); "
                                 "refusing to write it", path);
            return st_seterr(err, STRATA_ERR_IO, "cannot lock %s: %s", path, strerror(e));
        }
        /* Still the file at path?  (It may have been renamed over meanwhile.) */
        if (st_out_same_file(fd, path)) {
            int fl = fcntl(fd, F_GETFL);
            if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
            *fd_out = fd;
            return STRATA_OK;
        }
        close(fd);
    }
    return st_seterr(err, STRATA_ERR_STATE,
                     "%s keeps being replaced by another process; refusing to write it", path);
}

int st_out_reserve(int fd, const char *path, int64_t from, int64_t to, st_err *err)
{
    if (to <= from) return STRATA_OK;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from)) == 0) return STRATA_OK;
    int e = errno;
    if (e == ENOSPC || e == EDQUOT)
        return st_seterr(err, STRATA_ERR_IO, "%s: no space left on device (%s; %.1f MiB more needed)",
                         path, strerror(e), (double)(to - from) / 1048576.0);
    /* No preallocation here (e.g. EOPNOTSUPP): compare with the free space. */
    struct statvfs vs;
    if (fstatvfs(fd, &vs) == 0) {
        double avail = (double)vs.f_bavail * (double)vs.f_frsize;
        if (avail < (double)(to - from))
            return st_seterr(err, STRATA_ERR_IO,
                             "%s: no space left on device (%.1f MiB free, %.1f MiB needed)", path,
                             avail / 1048576.0, (double)(to - from) / 1048576.0);
    }
    return STRATA_OK;
}
