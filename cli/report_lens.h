/* cli/report_lens.h — the logit-lens section of `strata report`: the
 * model's next-token predictions read out of every layer on one document.
 *
 * Defines: report_lens_section(), REPORT_LENS_MAX_POS, REPORT_LENS_TOP_K. */
#ifndef STRATA_CLI_REPORT_LENS_H
#define STRATA_CLI_REPORT_LENS_H

#include <stdint.h>

#include <jansson.h>

#include "strata/capture.h"
#include "strata/model.h"

/* The lens runs on the document's first tokens, at most this many (and at
 * most n_ctx); each point keeps its top REPORT_LENS_TOP_K predictions. */
#define REPORT_LENS_MAX_POS 128
#define REPORT_LENS_TOP_K 3

/* Lens data for document doc of a, run with m (see report_page.c's
 * contract), or {"absent": why}. */
json_t *report_lens_section(strata_acts *a, int64_t doc, strata_model *m);

#endif
