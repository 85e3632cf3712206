/* io/mmap_file.c — see mmap_file.h. */
#include "io/mmap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int st_mmap_open(st_mmap *mm, const char *path, st_err *err)
{
    mm->data = NULL;
    mm->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_seterr(err, STRATA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return st_seterr(err, STRATA_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return st_seterr(err, STRATA_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
        mm->data = p;
        mm->size = (size_t)sb.st_size;
    }
    close(fd);
    return STRATA_OK;
}

void st_mmap_close(st_mmap *mm)
{
    if (mm->data) munmap((void *)mm->data, mm->size);
    mm->data = NULL;
    mm->size = 0;
}
