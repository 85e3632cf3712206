/* io/h5util.h — HDF5 helpers shared by every file strata reads or writes
 * (internal; only lib/io includes hdf5.h).
 *
 * Defines: st_h5_quiet (HDF5's automatic error printing turned off for one
 * call and restored after it: the library reports its own messages and
 * never changes the caller's HDF5 settings), st_h5_quiet_begin(),
 * st_h5_quiet_end(); the types h5py reads naturally (st_h5_vstr_type: UTF-8
 * vlen string, st_h5_bool_type: h5py's enum bool); the attribute helpers
 * every strata file uses (st_h5_attr_put_* / st_h5_attr_get_*: scalar
 * strings, int64, bool, numbers of any native type, 1-D string arrays).
 * Putters write into an existing attribute of that name or create it, and
 * return 0 or -1; getters return -1 when the attribute is absent or
 * unreadable (strings: NULL; the caller frees what they return).
 *
 * HDF5 keeps the automatic-printing setting per thread when it is built
 * thread-safe (Debian's is) and per process otherwise; saving and restoring
 * it around each call leaves it as the caller had it either way.
 * STRATA_HDF5_DEBUG=1 in the environment keeps HDF5's own printing on.
 */
#ifndef STRATA_IO_H5UTIL_H
#define STRATA_IO_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

typedef struct st_h5_quiet {
    H5E_auto2_t fn;
    void *data;
    int saved;
} st_h5_quiet;

void st_h5_quiet_begin(st_h5_quiet *q);
void st_h5_quiet_end(const st_h5_quiet *q);
/* `return call;` with HDF5's error printing off for the call (and restored
 * before returning): the body of an entry point that wraps its _impl. */
#define ST_H5_QUIET_RETURN(call)                                  \
    do {                                                          \
        st_h5_quiet q_;                                           \
        st_h5_quiet_begin(&q_);                                   \
        __typeof__(call) r_ = (call);                             \
        st_h5_quiet_end(&q_);                                     \
        return r_;                                                \
    } while (0)

hid_t st_h5_vstr_type(void);
hid_t st_h5_bool_type(void);
int st_h5_attr_put_str(hid_t obj, const char *name, const char *val);
/* A fixed-length string attribute (length strlen(val)), rewritten in place:
 * no global-heap object per write, so a process killed between two commits
 * can never leave it dangling (used for values rewritten at every commit). */
int st_h5_attr_put_fixed_str(hid_t obj, const char *name, const char *val);
int st_h5_attr_put_i64(hid_t obj, const char *name, int64_t v);
int st_h5_attr_put_bool(hid_t obj, const char *name, int v);
int st_h5_attr_put_strs(hid_t obj, const char *name, const char *const *v, int n);
int st_h5_attr_put_num(hid_t obj, const char *name, hid_t mem_type, const void *v);
char *st_h5_attr_get_str(hid_t obj, const char *name);
int st_h5_attr_get_i64(hid_t obj, const char *name, int64_t *v);
int st_h5_attr_get_bool(hid_t obj, const char *name, int *v);
int st_h5_attr_get_strs(hid_t obj, const char *name, char ***out);
int st_h5_attr_get_num(hid_t obj, const char *name, hid_t mem_type, void *v);

#endif
