"""Loading libstrata with ctypes, and the C declarations the bindings use.

Where the library is looked for, in this order (the first hit wins):

1. ``$STRATA_LIBRARY``: a path to ``libstrata.so`` (an explicit choice beats
   anything found implicitly; if the variable is set but the file cannot be
   loaded, that is an error, not a silent fallback);
2. next to this package: ``strata/libstrata.so*`` (copy or symlink the
   library there to make a self-contained install);
3. when the package is imported from a source checkout (``PYTHONPATH`` or
   ``pip install -e``): that checkout's ``build/libstrata.so``;
4. an install prefix: ``<prefix>/lib*/libstrata.so.N`` for the Python
   environment's prefix (``sys.prefix``: a virtualenv or conda env), the user
   base (``~/.local``) and ``/usr/local`` -- where ``cmake --install build
   --prefix <prefix>`` puts it;
5. the system loader: ``ctypes.util.find_library("strata")`` (an installed
   ``libstrata.so.0`` in a directory the dynamic linker searches, e.g. after
   ``cmake --install`` and ``ldconfig``, or through ``LD_LIBRARY_PATH``).

The library is loaded on first use, not at ``import strata``; a missing or
incompatible library raises :class:`strata.LibraryNotFoundError` (an
ImportError) with the places tried.  At load, the library's major version
(``strata_libversion_number() // 1000000``) must equal the one this package
was written for.

Optional modules (tokenizer, capture, probes, PCA, attention statistics, ...)
are declared only when their symbols are present, so an older or partial
library still serves models; the wrappers raise UnsupportedError naming the
missing symbol.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
import site
import sys
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_int32, c_int64, c_size_t, c_uint64, c_void_p)

from .errors import LibraryNotFoundError, UnsupportedError

#: Major version of the C API this package was written against.
EXPECTED_MAJOR = 0

# ---------------------------------------------------------------- structures


class Config(Structure):
    """strata_config (model.h)."""
    _fields_ = [
        ("arch", c_int32), ("name", c_char * 128), ("d_model", c_int32), ("n_layers", c_int32),
        ("n_heads", c_int32), ("n_kv_heads", c_int32), ("d_head", c_int32), ("d_mlp", c_int32),
        ("vocab_size", c_int32), ("n_ctx", c_int32), ("norm_kind", c_int32),
        ("norm_eps", c_float), ("act", c_int32), ("gated_mlp", c_int32), ("rope", c_int32),
        ("rotary_dim", c_int32), ("rope_theta", c_float), ("parallel_residual", c_int32),
        ("tied_embeddings", c_int32), ("has_bias", c_int32), ("bos_token_id", c_int32),
        ("eos_token_id", c_int32), ("sliding_window", c_int32), ("attn_scale", c_float),
        ("attn_softcap", c_float), ("final_softcap", c_float), ("attn_only", c_int32),
        ("embed_scale", c_float), ("post_norms", c_int32), ("window_layers", c_int32),
        ("window_from", c_int32),
    ]


class OpenOpts(Structure):
    """strata_open_opts (model.h)."""
    _fields_ = [("n_threads", c_int32), ("nonfinite", c_int32), ("revision", c_char_p),
                ("weights_f32", c_int32), ("reserved", c_int32 * 3)]


class RunOpts(Structure):
    """strata_run_opts (model.h)."""
    _fields_ = [("logits", c_int32), ("reserved", c_int32 * 7)]


class GenerateOpts(Structure):
    """strata_generate_opts (model.h)."""
    _fields_ = [("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("seed", c_uint64), ("stop_ids", c_void_p), ("n_stop", c_int32),
                ("reserved", c_int32 * 5)]


class Tensor(Structure):
    """strata_tensor (tensor.h); strides in elements."""
    _fields_ = [("data", c_void_p), ("ndim", c_int32), ("shape", c_int64 * 4),
                ("strides", c_int64 * 4)]


class HookCtx(Structure):
    """strata_hook_ctx (hooks.h)."""
    _fields_ = [("name", c_char_p), ("kind", c_int32), ("layer", c_int32), ("head", c_int32),
                ("batch", c_int32), ("n_ctx", c_int32), ("pos_offset", c_int32),
                ("lengths", c_void_p), ("tokens", c_void_p),
                ("batch_offset", c_int32), ("head_offset", c_int32), ("query_offset", c_int32),
                ("row_entropy", c_void_p)]


class ProbeParams(Structure):
    """strata_probe_params (probe.h)."""
    _fields_ = [
        ("kind", c_int32), ("C", c_double), ("alpha", c_double), ("fit_intercept", c_int32),
        ("standardize", c_int32), ("class_weight", c_int32), ("class_weights", c_void_p),
        ("max_iter", c_int32), ("tol", c_double), ("lbfgs_m", c_int32),
        ("block_rows", c_int64), ("mem_limit", c_int64), ("test_fraction", c_double),
        ("cv_folds", c_int32), ("control", c_int32), ("shuffled", c_int32), ("seed", c_uint64),
        ("group", c_int32), ("groups", c_void_p),
        ("distributed", c_int32), ("reserved32", c_int32), ("reserved", c_int64 * 3),
    ]


class ProbeReport(Structure):
    """strata_probe_report (probe.h)."""
    _fields_ = [
        ("hook", c_char * 256), ("kind", c_int32), ("n_classes", c_int32), ("dim", c_int64),
        ("n_rows", c_int64), ("n_train", c_int64), ("n_test", c_int64),
        ("train_accuracy", c_double), ("test_accuracy", c_double),
        ("balanced_accuracy", c_double), ("macro_f1", c_double), ("auroc", c_double),
        ("log_loss", c_double), ("train_r2", c_double), ("test_r2", c_double),
        ("cv_folds", c_int32), ("cv_score", c_double), ("cv_std", c_double),
        ("control_score", c_double), ("selectivity", c_double), ("shuffled_score", c_double),
        ("n_iter", c_int32), ("converged", c_int32), ("n_constant_features", c_int32),
        ("fit_seconds", c_double), ("majority_accuracy", c_double),
        ("cv_balanced_accuracy", c_double), ("control_balanced_accuracy", c_double),
        ("grouped", c_int32), ("n_groups", c_int64),
    ]


class PcaParams(Structure):
    """strata_pca_params (pca.h)."""
    _fields_ = [
        ("k", c_int32), ("center", c_int32), ("whiten", c_int32), ("solver", c_int32),
        ("rsvd_oversample", c_int32), ("rsvd_iters", c_int32), ("rsvd_probes", c_int32),
        ("reserved", c_int32), ("seed", c_uint64), ("block_rows", c_int64),
        ("distributed", c_int32), ("reserved2", c_int32), ("reserved_end", c_int64 * 3),
    ]


ATTN_NSTAT = 7


class AttnHead(Structure):
    """strata_attn_head (attn.h)."""
    _fields_ = [
        ("layer", c_int32), ("head", c_int32), ("entropy", c_double),
        ("mean_distance", c_double), ("prev_token", c_double), ("first_token", c_double),
        ("self", c_double), ("duplicate", c_double), ("induction", c_double),
        ("n_docs", c_int64 * ATTN_NSTAT), ("cls", c_int32), ("flags", c_int32),
    ]


class AttnThresholds(Structure):
    """strata_attn_thresholds (attn.h)."""
    _fields_ = [("prev_token", c_double), ("first_token", c_double), ("self", c_double),
                ("duplicate", c_double), ("induction", c_double), ("reserved", c_int64 * 4)]


class CaptureProgress(Structure):
    """strata_capture_progress (capture.h)."""
    _fields_ = [("docs_done", c_int64), ("docs_total", c_int64), ("tokens_done", c_int64),
                ("rows_done", c_int64), ("seconds", c_double),
                ("expected_bytes", c_int64), ("expected_rows", c_int64),
                ("expected_width", c_int64)]


CAPTURE_PROGRESS_FN = CFUNCTYPE(c_int, POINTER(CaptureProgress), c_void_p)


class CaptureOpts(Structure):
    """strata_capture_opts (capture.h)."""
    _fields_ = [
        ("hooks", c_char_p), ("positions", c_int32), ("batch", c_int32),
        ("max_tokens", c_int32), ("dtype", c_int32), ("compress", c_int32), ("mode", c_int32),
        ("add_bos", c_int32), ("n_labels", c_int32), ("label_names", POINTER(c_char_p)),
        ("label_is_int", POINTER(c_int32)), ("progress", CAPTURE_PROGRESS_FN),
        ("progress_user", c_void_p), ("overlap", c_int32), ("reserved", c_int32 * 7),
    ]


class CaptureLabel(Structure):
    """strata_capture_label (capture.h)."""
    _fields_ = [("name", c_char_p), ("value", c_double), ("spans", POINTER(c_double)),
                ("n_spans", c_int64), ("values", POINTER(c_double)), ("n_values", c_int64)]


class CaptureDoc(Structure):
    """strata_capture_doc (capture.h)."""
    _fields_ = [("text", c_char_p), ("text_len", c_int64), ("tokens", POINTER(c_int32)),
                ("n_tokens", c_int64), ("labels", POINTER(CaptureLabel)), ("n_labels", c_int32)]


class CaptureStats(Structure):
    """strata_capture_stats (capture.h)."""
    _fields_ = [("docs", c_int64), ("docs_skipped", c_int64), ("tokens", c_int64),
                ("rows", c_int64), ("truncated", c_int64), ("tokens_run", c_int64),
                ("seconds", c_double)]


class CkaParams(Structure):
    """strata_cka_params (cka.h)."""
    _fields_ = [("block_rows", c_int64), ("max_bytes", c_int64), ("distributed", c_int32),
                ("reserved32", c_int32), ("reserved", c_int64 * 3)]


#: strata_hook_fn.  Arguments are declared as void* so that the trampoline
#: pays for no ctypes pointer objects it does not need.
HOOK_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)
#: strata_hook_visit_fn (name, kind, layer, head, user) of strata_hook_match
HOOK_VISIT_FN = CFUNCTYPE(c_int, c_char_p, c_int, c_int, c_int, c_void_p)
#: strata_probe_progress_fn
PROBE_PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_int, c_int, c_char_p)

# ---------------------------------------------------------------- declarations

P = c_void_p          # opaque handles and data pointers (numpy .ctypes.data)
I32P = POINTER(c_int32)
I64P = POINTER(c_int64)

# name: (restype, argtypes).  Grouped by header; "required" ones must exist.
_REQUIRED = {
    # error.h
    "strata_errstr": (c_char_p, [c_int]),
    # model.h
    "strata_libversion": (c_char_p, []),
    "strata_libversion_number": (c_int, []),
    "strata_open_opts_default": (OpenOpts, []),
    "strata_model_open": (c_int, [c_char_p, POINTER(OpenOpts), POINTER(c_void_p)]),
    "strata_model_free": (None, [P]),
    "strata_model_weight_memory": (None, [P, POINTER(c_int64), POINTER(c_int64)]),
    "strata_errmsg": (c_char_p, [P]),
    "strata_model_config": (POINTER(Config), [P]),
    "strata_model_n_params": (c_int64, [P]),
    "strata_model_format": (c_char_p, [P]),
    "strata_model_set_threads": (c_int, [P, c_int]),
    "strata_model_set_nonfinite": (c_int, [P, c_int]),
    "strata_model_nonfinite": (c_char_p, [P]),
    "strata_run": (c_int, [P, P, P, c_int, P]),
    "strata_run_v2": (c_int, [P, P, P, c_int, POINTER(RunOpts), P]),
    "strata_generate": (c_int, [P, P, c_int, c_int, P]),
    # hooks.h
    "strata_hook_add": (c_int, [P, c_char_p, HOOK_FN, P, POINTER(c_int32)]),
    "strata_hook_remove": (c_int, [P, c_int32]),
    "strata_hook_clear": (None, [P]),
    "strata_hook_kind_name": (c_char_p, [c_int]),
    "strata_hook_name": (c_int, [c_int, c_int, c_char_p, c_int]),
    "strata_hook_parse": (c_int, [c_char_p, POINTER(c_int), POINTER(c_int), POINTER(c_int)]),
    "strata_model_n_hook_points": (c_int, [P]),
    "strata_model_hook_point": (c_int, [P, c_int, POINTER(c_int), POINTER(c_int), c_char_p, c_int]),
    "strata_model_hook_shape": (c_int, [P, c_int, c_int, c_int, I64P]),
}

_OPTIONAL = {
    "strata_arch_name": (c_char_p, [c_int32]),
    # hooks.h: matching a pattern without registering
    "strata_hook_match": (c_int, [P, c_char_p, HOOK_VISIT_FN, P]),
    # model.h: sampling and weight views
    "strata_generate_ex": (c_int, [P, P, c_int, c_int, POINTER(GenerateOpts), P, POINTER(c_int)]),
    "strata_model_weight": (c_int, [P, c_char_p, POINTER(Tensor)]),
    "strata_model_n_weights": (c_int, [P]),
    "strata_model_weight_name": (c_int, [P, c_int, c_char_p, c_size_t]),
    "strata_blas_corename": (c_char_p, []),
    "strata_blas_warning": (c_char_p, []),
    # tokenizer.h
    "strata_tokenizer_open": (c_int, [c_char_p, POINTER(c_void_p)]),
    "strata_tokenizer_free": (None, [P]),
    "strata_tokenizer_errmsg": (c_char_p, [P]),
    "strata_model_tokenizer": (P, [P]),
    "strata_tokenize": (c_int64, [P, c_char_p, c_size_t, c_int, P, c_int64, P]),
    "strata_detokenize": (c_int64, [P, P, c_int64, c_int, P, c_int64]),
    "strata_token_piece": (c_char_p, [P, c_int32]),
    "strata_tokenizer_vocab_size": (c_int32, [P]),
    "strata_tokenizer_bos": (c_int32, [P]),
    "strata_tokenizer_eos": (c_int32, [P]),
    # capture.h (reader)
    "strata_acts_open": (c_int, [c_char_p, POINTER(c_void_p)]),
    "strata_acts_close": (None, [P]),
    "strata_acts_errmsg": (c_char_p, [P]),
    "strata_acts_complete": (c_int, [P]),
    "strata_acts_n_rows": (c_int64, [P]),
    "strata_acts_n_hooks": (c_int, [P]),
    "strata_acts_hook": (c_char_p, [P, c_int]),
    "strata_acts_hook_shape": (c_int, [P, c_char_p, I64P]),
    "strata_acts_row_width": (c_int64, [P, c_char_p]),
    "strata_acts_read": (c_int, [P, c_char_p, c_int64, c_int64, P]),
    "strata_acts_n_labels": (c_int, [P]),
    "strata_acts_label": (c_char_p, [P, c_int]),
    "strata_acts_read_label": (c_int, [P, c_char_p, c_int64, c_int64, P]),
    "strata_acts_read_row_tokens": (c_int, [P, c_int64, c_int64, P]),
    # capture.h (writer)
    "strata_capture_opts_default": (CaptureOpts, []),
    "strata_capture_open": (c_int, [P, c_char_p, POINTER(CaptureOpts), POINTER(c_void_p)]),
    "strata_capture_add_doc": (c_int, [P, POINTER(CaptureDoc)]),
    "strata_capture_add_text": (c_int, [P, c_char_p, c_int64]),
    "strata_capture_add_tokens": (c_int, [P, P, c_int64]),
    "strata_capture_add_file": (c_int, [P, c_int, c_char_p]),
    "strata_capture_set_total": (None, [P, c_int64]),
    "strata_capture_finish": (c_int, [P]),
    "strata_capture_free": (None, [P]),
    "strata_capture_errmsg": (c_char_p, [P]),
    "strata_capture_get_stats": (None, [P, POINTER(CaptureStats)]),
    "strata_capture_n_done": (c_int64, [P]),
    # cka.h
    "strata_cka_default_params": (None, [POINTER(CkaParams)]),
    "strata_cka_fit": (c_int, [c_int, P, P, c_int64, POINTER(CkaParams), POINTER(c_void_p)]),
    "strata_cka_fit_acts": (c_int, [P, c_int, P, POINTER(CkaParams), POINTER(c_void_p)]),
    "strata_cka_fit_acts_pair": (c_int, [P, c_int, P, P, c_int, P, POINTER(CkaParams),
                                         POINTER(c_void_p)]),
    "strata_cka_free": (None, [P]),
    "strata_cka_errmsg": (c_char_p, [P]),
    "strata_cka_n": (c_int, [P]),
    "strata_cka_n_rows": (c_int64, [P]),
    "strata_cka_matrix": (P, [P]),
    "strata_cka_n_passes": (c_int, [P]),
    # lens.h
    "strata_lens_new": (c_int, [P, POINTER(c_void_p)]),
    "strata_lens_free": (None, [P]),
    "strata_lens_errmsg": (c_char_p, [P]),
    "strata_lens_run": (c_int, [P, P, c_int, c_int]),
    "strata_lens_n_points": (c_int, [P]),
    "strata_lens_n_pos": (c_int, [P]),
    "strata_lens_top_k": (c_int, [P]),
    "strata_lens_point_name": (c_char_p, [P, c_int]),
    "strata_lens_top_ids": (P, [P]),
    "strata_lens_top_probs": (P, [P]),
    "strata_lens_next_rank": (P, [P]),
    "strata_lens_next_prob": (P, [P]),
    "strata_lens_model_logits": (P, [P]),
    "strata_lens_logits": (c_int, [P, c_int, P]),
    # probe.h
    "strata_probe_default_params": (None, [POINTER(ProbeParams)]),
    "strata_probe_fit": (c_int, [P, c_int64, c_int64, P, P, POINTER(ProbeParams),
                                 POINTER(c_void_p)]),
    "strata_probe_free": (None, [P]),
    "strata_probe_errmsg": (c_char_p, [P]),
    "strata_probe_get_kind": (c_int32, [P]),
    "strata_probe_dim": (c_int64, [P]),
    "strata_probe_n_classes": (c_int32, [P]),
    "strata_probe_n_outputs": (c_int32, [P]),
    "strata_probe_coef": (P, [P]),
    "strata_probe_intercept": (P, [P]),
    "strata_probe_class_value": (c_double, [P, c_int32]),
    "strata_probe_n_iter": (c_int32, [P]),
    "strata_probe_converged": (c_int32, [P]),
    "strata_probe_n_constant_features": (c_int32, [P]),
    "strata_probe_n_train": (c_int64, [P]),
    "strata_probe_decision": (c_int, [P, P, c_int64, P]),
    "strata_probe_predict": (c_int, [P, P, c_int64, P]),
    "strata_probe_predict_proba": (c_int, [P, P, c_int64, P]),
    "strata_probe_direction": (c_int, [P, c_int32, c_int, P]),
    "strata_probe_save": (c_int, [P, c_char_p, c_char_p]),
    "strata_probe_load": (c_int, [c_char_p, c_char_p, POINTER(c_void_p)]),
    "strata_probe_evaluate": (c_int, [P, c_int64, c_int64, P, P, POINTER(ProbeParams),
                                      POINTER(ProbeReport), c_char_p, c_size_t]),
    "strata_probe_sweep": (c_int, [P, c_char_p, c_char_p, POINTER(ProbeParams),
                                   PROBE_PROGRESS_FN, P, POINTER(POINTER(ProbeReport)),
                                   POINTER(c_int), c_char_p, c_size_t]),
    "strata_probe_sweep_free": (None, [P]),
    "strata_probe_split": (c_int, [P, c_int64, c_double, c_uint64, P]),
    "strata_probe_kfold": (c_int, [P, c_int64, c_int, c_uint64, P]),
    "strata_probe_group_split": (c_int, [P, P, c_int64, c_double, c_uint64, P]),
    "strata_probe_group_kfold": (c_int, [P, P, c_int64, c_int, P]),
    "strata_probe_control_labels": (c_int, [P, P, c_int64, c_uint64, P]),
    "strata_probe_shuffle_labels": (c_int, [P, c_int64, c_uint64, P]),
    "strata_metric_accuracy": (c_double, [P, P, c_int64]),
    "strata_metric_balanced_accuracy": (c_double, [P, P, c_int64, c_int]),
    "strata_metric_macro_f1": (c_double, [P, P, c_int64, c_int]),
    "strata_metric_auroc": (c_double, [P, P, c_int64]),
    "strata_metric_log_loss": (c_double, [P, P, c_int64, c_int]),
    "strata_metric_r2": (c_double, [P, P, c_int64]),
    # pca.h
    "strata_pca_default_params": (None, [POINTER(PcaParams)]),
    "strata_pca_fit": (c_int, [P, c_int64, c_int64, POINTER(PcaParams), POINTER(c_void_p)]),
    "strata_pca_fit_acts": (c_int, [P, c_char_p, POINTER(PcaParams), POINTER(c_void_p)]),
    "strata_pca_free": (None, [P]),
    "strata_pca_errmsg": (c_char_p, [P]),
    "strata_pca_n_rows": (c_int64, [P]),
    "strata_pca_dim": (c_int64, [P]),
    "strata_pca_k": (c_int32, [P]),
    "strata_pca_solver_used": (c_int32, [P]),
    "strata_pca_mean": (P, [P]),
    "strata_pca_components": (P, [P]),
    "strata_pca_explained_variance": (P, [P]),
    "strata_pca_explained_variance_ratio": (P, [P]),
    "strata_pca_total_variance": (c_double, [P]),
    "strata_pca_participation_ratio": (c_double, [P]),
    "strata_pca_transform": (c_int, [P, P, c_int64, P]),
    "strata_pca_write": (c_int, [P, c_char_p, c_char_p, c_int, c_int]),
    "strata_participation_ratio": (c_double, [P, c_int64]),
    # attn.h
    "strata_attn_thresholds_default": (AttnThresholds, []),
    "strata_attn_classify": (None, [POINTER(AttnHead), POINTER(AttnThresholds)]),
    "strata_attn_class_name": (c_char_p, [c_int]),
    "strata_attn_stats_new": (c_int, [POINTER(Config), POINTER(c_void_p)]),
    "strata_attn_stats_free": (None, [P]),
    "strata_attn_stats_errmsg": (c_char_p, [P]),
    "strata_attn_stats_reset": (None, [P]),
    "strata_attn_stats_set_induction": (c_int, [P, c_int, c_int]),
    "strata_attn_stats_attach": (c_int, [P, P]),
    "strata_attn_stats_detach": (c_int, [P]),
    "strata_attn_stats_run": (c_int, [P, P, P, P, c_int]),
    "strata_attn_stats_add_pattern": (c_int, [P, c_int, P, c_int64, c_int64, c_int64, P, c_int]),
    "strata_attn_stats_add_capture": (c_int, [P, P]),
    "strata_attn_stats_n_docs": (c_int64, [P]),
    "strata_attn_stats_result": (c_int, [P, POINTER(AttnHead), c_int]),
    "strata_attn_token_range": (None, [POINTER(Config), I32P, I32P]),
    "strata_attn_induction_docs": (c_int, [c_uint64, c_int, c_int, c_int32, c_int32, c_int32,
                                           c_int32, P]),
    # eval.h, transition.h (struct layouts in evaluate.py)
    "strata_eval_task": (c_int, [P, P, P, P, P, c_int64, P, P, c_char_p, ctypes.c_size_t]),
    "strata_eval_text_loss": (c_int, [P, P, P, c_int, c_int, POINTER(c_double), POINTER(c_int64),
                                      c_char_p, ctypes.c_size_t]),
    "strata_transition_stats": (c_int, [P, P, c_int, c_int, P, c_char_p, ctypes.c_size_t]),
}


class Lib:
    """The loaded library: C functions as attributes (optional ones may be None)."""

    def __init__(self, cdll: ctypes.CDLL, path: str):
        self.cdll = cdll
        self.path = path
        for name, (res, args) in _REQUIRED.items():
            try:
                f = getattr(cdll, name)
            except AttributeError:
                raise LibraryNotFoundError(
                    f"{path} lacks {name}(); it is not a compatible libstrata") from None
            f.restype, f.argtypes = res, args
            setattr(self, name, f)
        for name, (res, args) in _OPTIONAL.items():
            f = getattr(cdll, name, None)
            if f is not None:
                f.restype, f.argtypes = res, args
            setattr(self, name, f)
        self.version = self.strata_libversion().decode()
        self.version_number = int(self.strata_libversion_number())

    def need(self, *names: str):
        """Raises UnsupportedError unless every named function exists."""
        for n in names:
            if getattr(self, n, None) is None:
                raise UnsupportedError(
                    f"this libstrata ({self.path}, version {self.version}) has no {n}(); "
                    f"it was built without that module")

    def errstr(self, status: int) -> str:
        return self.strata_errstr(status).decode()


_lock = threading.Lock()
_loaded: Lib | None = None


def _candidates():
    """(how, path-or-name) in search order."""
    env = os.environ.get("STRATA_LIBRARY")
    if env:
        yield "STRATA_LIBRARY", env
    here = os.path.dirname(os.path.abspath(__file__))
    for p in sorted(glob.glob(os.path.join(here, "libstrata.so*")) +
                    glob.glob(os.path.join(here, "libstrata*.dylib")) +
                    glob.glob(os.path.join(here, "strata*.dll"))):
        yield "package directory", p
    # running from a source checkout (PYTHONPATH=bindings/python or pip install -e): the
    # CMake build folder of that checkout, repository/build/libstrata.so
    tree = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(here))), "build",
                        "libstrata.so")
    if os.path.basename(os.path.dirname(here)) == "python" and os.path.exists(tree):
        yield "source checkout build", tree
    for prefix in _install_prefixes():
        for p in sorted(glob.glob(os.path.join(prefix, "lib*", "libstrata.so.*")) +
                        glob.glob(os.path.join(prefix, "lib", "*-linux-gnu", "libstrata.so.*"))):
            if re.search(r"libstrata\.so\.\d+$", p):   # the SONAME file, not .so.X.Y.Z twice
                yield "install prefix", p
    found = ctypes.util.find_library("strata")
    if found:
        yield "system loader", found


def _install_prefixes():
    """Where `cmake --install build --prefix P` is usually pointed: the Python environment's
    own prefix (a virtualenv or conda env), the user base (~/.local) and /usr/local, in that
    order; each only once."""
    seen = []
    for p in (sys.prefix, getattr(site, "USER_BASE", None), "/usr/local"):
        if p and os.path.isdir(p) and os.path.realpath(p) not in seen:
            seen.append(os.path.realpath(p))
            yield p


def load() -> Lib:
    """Finds, loads and checks libstrata once; later calls return the same object."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        tried = []
        for how, path in _candidates():
            try:
                cdll = ctypes.CDLL(path)
            except OSError as e:
                if how == "STRATA_LIBRARY":
                    raise LibraryNotFoundError(
                        f"STRATA_LIBRARY={path} could not be loaded: {e}") from None
                tried.append(f"{how}: {path}: {e}")
                continue
            lib = Lib(cdll, path)
            major = lib.version_number // 1000000
            if major != EXPECTED_MAJOR:
                raise LibraryNotFoundError(
                    f"{path} is libstrata {lib.version} (major {major}); this Python package "
                    f"needs major version {EXPECTED_MAJOR}. Point STRATA_LIBRARY at a matching "
                    f"build or install the matching package.")
            _loaded = lib
            return lib
        where = "; ".join(tried) if tried else "nothing found"
        raise LibraryNotFoundError(
            "libstrata not found (" + where + "). Set STRATA_LIBRARY to the path of "
            "libstrata.so, put the library next to the strata package, or install it where the "
            "system loader finds it (see docs/PYTHON.md).")


def cstr(p) -> str:
    """A C string (bytes or None) as str; invalid UTF-8 is replaced, not raised."""
    return "" if p is None else p.decode("utf-8", "replace")
