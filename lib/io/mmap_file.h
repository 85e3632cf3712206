/* io/mmap_file.h — read-only memory mapping of a whole file (internal). */
#ifndef STRATA_IO_MMAP_FILE_H
#define STRATA_IO_MMAP_FILE_H

#include <stddef.h>
#include "util/err.h"

typedef struct st_mmap {
    const unsigned char *data;  /* NULL for an empty file */
    size_t size;
} st_mmap;

int st_mmap_open(st_mmap *mm, const char *path, st_err *err);
void st_mmap_close(st_mmap *mm);

#endif
