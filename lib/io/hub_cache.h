/* io/hub_cache.h — finding a model in the Hugging Face hub cache (internal).
 *
 * Defines: st_hub_is_id(), st_hub_resolve().
 *
 * The cache (huggingface_hub's layout) is the first of
 *   $HF_HUB_CACHE,  $HF_HOME/hub,  $XDG_CACHE_HOME/huggingface/hub,
 *   ~/.cache/huggingface/hub
 * that the environment names (the first set variable wins, as in
 * huggingface_hub; HOME is the last resort).  A model "ORG/NAME" lives in
 *   <cache>/models--ORG--NAME/
 *       refs/<revision>          a file holding the commit hash of a branch or
 *                                tag ("main", Pythia's "step1000", ...)
 *       snapshots/<hash>/...     the files of that commit, usually symlinks
 *                                into ../../blobs/<sha>
 * A revision is looked up in refs/ first; a revision that is itself a
 * commit hash (hex) may name snapshots/<hash> directly.  Nothing is ever
 * downloaded.
 */
#ifndef STRATA_IO_HUB_CACHE_H
#define STRATA_IO_HUB_CACHE_H

#include <stddef.h>
#include "util/err.h"

/* 1 if s has the shape of a hub model id: "NAME" or "ORG/NAME", each part
 * non-empty of [A-Za-z0-9._-], not "." or "..", at most 96 characters each. */
int st_hub_is_id(const char *s);

/* Resolves id (see st_hub_is_id) at revision (NULL or "": "main") to its
 * snapshot directory, written to out (cap bytes).  STRATA_ERR_NOTFOUND when
 * the model or the revision is not in the cache (the message lists every path
 * tried), STRATA_ERR_ARG for a malformed id or revision, STRATA_ERR_FORMAT for
 * a refs file that does not hold a commit hash. */
int st_hub_resolve(const char *id, const char *revision, char *out, size_t cap, st_err *err);

#endif
