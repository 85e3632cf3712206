/* util/version.c — library version, for callers to check header vs library. */
#include "strata/model.h"

const char *strata_libversion(void) { return STRATA_VERSION; }
int strata_libversion_number(void) { return STRATA_VERSION_NUMBER; }
