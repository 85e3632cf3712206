"""strata: look inside transformer language models (Python bindings of libstrata).

    import strata
    with strata.Model.open("models/stories260K/hf") as model:
        logits, cache = model.run_with_cache("Once upon a time",
                                             names=["blocks.*.hook_resid_post"])
        with model.hooks({"blocks.1.attn.hook_z[3]": lambda z, ctx: z.fill(0)}):
            ablated = model.run("Once upon a time")

The C library is found at runtime (STRATA_LIBRARY, next to this package, or
the system loader; see strata._lib and docs/PYTHON.md).
"""

__version__ = "0.1.0"

from .errors import (ArgumentError, ClosedError, ExistsError, FormatError, HookReturnError,
                     LibraryNotFoundError, NoMemoryError, NotFoundError, NumericError,
                     StateError, StoppedError, StrataError, StrataIOError, StrataRangeError,
                     UnsupportedError)
from .cache import ActivationCache, act_name, get_act_name
from .hooks import HookContext
from .model import Model, ModelConfig
from .tokenizer import Tokenizer
from . import attn, capture, evaluate, lens, pca, probe  # noqa: E402
from .evaluate import EvalResult, Transition, eval_task, text_loss, transition
from .attn import AttentionStats, HeadStats
from .capture import Activations, Capture
from .lens import Lens, LensResult, logit_lens


def library():
    """The loaded C library (path, version); loads it if needed."""
    return _lib.load()


def library_version() -> str:
    """Version string of the loaded libstrata."""
    return _lib.load().version


from . import _lib  # noqa: E402

__all__ = [
    "Model", "ModelConfig", "ActivationCache", "HookContext", "Tokenizer", "act_name",
    "get_act_name",
    "library", "library_version", "Activations", "Capture", "AttentionStats", "HeadStats",
    "Lens", "LensResult", "logit_lens", "EvalResult", "Transition", "eval_task", "text_loss",
    "transition", "evaluate", "attn", "capture", "lens", "pca", "probe",
    "StrataError", "ArgumentError", "ClosedError", "ExistsError", "FormatError",
    "HookReturnError", "LibraryNotFoundError", "NoMemoryError", "NotFoundError",
    "NumericError", "StateError", "StoppedError", "StrataIOError", "StrataRangeError",
    "UnsupportedError",
]
