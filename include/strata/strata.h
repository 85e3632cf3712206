/* strata/strata.h — umbrella header: everything public in strata.
 *
 * Conventions (all headers): arrays are row-major, last index fastest;
 * functions return strata_status (0 ok, < 0 error, > 0 non-fatal); each
 * handle's *_errmsg() explains its last failure; *_open/_new allocate and
 * the matching *_free/_close release (NULL is a no-op).
 *
 * Threads: each header says what may run at the same time; in short,
 * one call at a time per handle, separate handles on separate threads.
 */
#ifndef STRATA_STRATA_H
#define STRATA_STRATA_H

#include "strata/error.h"
#include "strata/tensor.h"
#include "strata/model.h"
#include "strata/hooks.h"
#include "strata/tokenizer.h"
#include "strata/capture.h"
#include "strata/probe.h"
#include "strata/pca.h"
#include "strata/cka.h"
#include "strata/attn.h"
#include "strata/lens.h"
#include "strata/train.h"
#include "strata/corpus.h"
#include "strata/eval.h"
#include "strata/transition.h"
#include "strata/dist.h"
#include "strata/version.h"

#endif
