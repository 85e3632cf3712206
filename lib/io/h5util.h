/* io/h5util.h — HDF5 helpers shared by every file strata reads or writes
 * (internal; the only place besides io/ that may include hdf5.h is none).
 *
 * Defines: st_h5_quiet (HDF5's automatic error printing turned off for one
 * call and restored after it: the library reports its own messages and
 * never changes the caller's HDF5 settings), st_h5_quiet_begin(),
 * st_h5_quiet_end().
 *
 * HDF5 keeps the automatic-printing setting per thread when it is built
 * thread-safe (Debian's is) and per process otherwise; saving and restoring
 * it around each call leaves it as the caller had it either way.
 * STRATA_HDF5_DEBUG=1 in the environment keeps HDF5's own printing on.
 */
#ifndef STRATA_IO_H5UTIL_H
#define STRATA_IO_H5UTIL_H

#include <hdf5.h>

typedef struct st_h5_quiet {
    H5E_auto2_t fn;
    void *data;
    int saved;
} st_h5_quiet;

void st_h5_quiet_begin(st_h5_quiet *q);
void st_h5_quiet_end(const st_h5_quiet *q);

#endif
