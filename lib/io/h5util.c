/* io/h5util.c — see h5util.h. */
#include "io/h5util.h"

#include <stdlib.h>

void st_h5_quiet_begin(st_h5_quiet *q)
{
    q->saved = 0;
    const char *d = getenv("STRATA_HDF5_DEBUG");
    if (d && *d && *d != '0') return;
    if (H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data) < 0) return;
    q->saved = 1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void st_h5_quiet_end(const st_h5_quiet *q)
{
    if (q->saved) H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
}
