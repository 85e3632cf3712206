/* io/hf_dir.h — Hugging Face model directory: config.json and the weights in
 * model.safetensors or shards listed by model.safetensors.index.json (internal). */
#ifndef STRATA_IO_HF_DIR_H
#define STRATA_IO_HF_DIR_H

#include "model/model_internal.h"

/* Fills cfg from <dir>/config.json (model_type gpt2, gpt_neox, llama). */
int st_hf_config(const char *dir, strata_config *cfg, st_err *err);
/* Opens the weights as a source of HF-named tensors (F32 mmapped; F16/BF16
 * converted once into buffers the source owns). */
int st_hf_source_open(const char *dir, st_wsource *src, st_err *err);

#endif
