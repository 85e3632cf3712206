/* io/outfile.h — making output files safely (internal): only regular files,
 * one writer at a time, and disk space claimed before it is needed.
 *
 * Defines: st_out_resolve() (symlinks followed; non-regular files refused),
 * st_out_lock() (open + exclusive flock, checked to still be the file at the
 * path), st_out_same_file(), st_out_reserve() (allocate disk blocks up to an
 * offset, so later writes cannot fail with ENOSPC), st_out_kind().
 *
 * The lock is flock(2) LOCK_EX, the same kind HDF5 takes on files it opens,
 * so a second `strata capture`, an h5py reader and HDF5 tools all see the
 * file as busy while it is written.
 *
 * One writer per file rests on one rule: the output path only ever names a
 * file that its writer holds locked.  A new file is built as FILE.creating
 * (locked before it is written) and renamed into place while still locked;
 * nothing ever creates, truncates or removes the output path itself.
 * (st_out_can_create checks with a file of its own unique name, never with
 * the output name: an unlocked empty file there, even for microseconds, let
 * a second `--overwrite` in, and the probe's unlink then removed that
 * writer's finished file.)
 */
#ifndef STRATA_IO_OUTFILE_H
#define STRATA_IO_OUTFILE_H

#include <stdint.h>
#include <sys/stat.h>
#include "util/err.h"

/* "directory", "character device", "FIFO", ... for a non-regular st_mode. */
const char *st_out_kind(mode_t mode);

/* Resolves path for writing: *resolved (malloc'd) is path with symlinks
 * followed (path itself if it does not exist); *exists says whether it does.
 * STRATA_ERR_IO when it exists but is not a regular file (directory, device
 * node, FIFO, socket, or a symlink to one), or is a dangling symlink. */
int st_out_resolve(const char *path, char **resolved, int *exists, st_err *err);

/* Opens path (O_RDWR; creating it when create != 0), takes an exclusive
 * non-blocking flock and checks that path still names the locked file.
 * STRATA_ERR_BUSY-like refusal is STRATA_ERR_STATE with "another process" in
 * the message; what = "FILE" text used in messages (usually path). */
int st_out_lock(const char *path, int create, int *fd_out, st_err *err);

/* Can a file be created next to path (directory exists, writable, not a
 * read-only file system, inodes left)?  Creates and removes a file with a
 * unique name of its own (path.probe-XXXXXX), never path itself.
 * STRATA_ERR_IO "cannot create output file PATH: reason". */
int st_out_can_create(const char *path, st_err *err);

/* 1 if fd and path are the same file (device and inode). */
int st_out_same_file(int fd, const char *path);

/* Makes sure the file behind fd has disk blocks for [from, to): fallocate
 * with FALLOC_FL_KEEP_SIZE (the size the file reports does not change).
 * Where the file system cannot preallocate, checks the free space instead.
 * STRATA_ERR_IO with "no space left" (naming path and the bytes needed) when
 * the space is not there. */
int st_out_reserve(int fd, const char *path, int64_t from, int64_t to, st_err *err);

#endif
