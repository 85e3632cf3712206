"""ActivationCache: the name-keyed result of Model.run_with_cache.

Keys are full hook names (``"blocks.3.hook_resid_post"``, with ``"[h]"`` when a
head was selected); values are float32 numpy arrays over the whole padded
batch, shapes as in docs/HOOKS.md (e.g. resid [B, T, d_model], pattern
[B, H, T, T], hook_z [B, T, H, d_head], a selected head keeps its axis with
size 1).  Positions t >= lengths[b] are padding: computed, but meaningless.

TransformerLens-style shortcuts: ``cache["resid_post", 3]`` is
``cache["blocks.3.hook_resid_post"]``, ``cache["pattern", 0]`` is
``cache["blocks.0.attn.hook_pattern"]`` (see :func:`act_name`), and
``cache.stack("resid_post")`` stacks every layer into [L, B, T, d].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["ActivationCache", "act_name"]

# TransformerLens get_act_name short names -> strata suffixes.
_SHORT = {
    "embed": "hook_embed", "pos_embed": "hook_pos_embed",
    "resid_pre": "hook_resid_pre", "resid_mid": "hook_resid_mid",
    "resid_post": "hook_resid_post", "attn_out": "hook_attn_out", "mlp_out": "hook_mlp_out",
    "q": "attn.hook_q", "k": "attn.hook_k", "v": "attn.hook_v",
    "rot_q": "attn.hook_rot_q", "rot_k": "attn.hook_rot_k",
    "attn_scores": "attn.hook_attn_scores", "scores": "attn.hook_attn_scores",
    "pattern": "attn.hook_pattern", "attn": "attn.hook_pattern",
    "z": "attn.hook_z", "result": "attn.hook_result",
    "pre": "mlp.hook_pre", "pre_linear": "mlp.hook_pre_linear", "post": "mlp.hook_post",
    "ln1_scale": "ln1.hook_scale", "ln1_normalized": "ln1.hook_normalized",
    "ln2_scale": "ln2.hook_scale", "ln2_normalized": "ln2.hook_normalized",
    "ln_final_scale": "ln_final.hook_scale", "ln_final": "ln_final.hook_normalized",
    "logits": "hook_logits",
}
_GLOBAL = {"hook_embed", "hook_pos_embed", "ln_final.hook_scale", "ln_final.hook_normalized",
           "hook_logits"}


def act_name(name: str, layer: int | None = None) -> str:
    """Full hook name from a TransformerLens-style short name.

    ``act_name("resid_post", 3) == "blocks.3.hook_resid_post"``,
    ``act_name("z", 1) == "blocks.1.attn.hook_z"``, ``act_name("logits") == "hook_logits"``.
    A name that already contains "hook_" is completed with the layer if needed.
    """
    suffix = _SHORT.get(name, name)
    if suffix in _GLOBAL or suffix.startswith("blocks.") or layer is None:
        return suffix
    return f"blocks.{int(layer)}.{suffix}"


class ActivationCache(Mapping):
    """Dict-like store of captured activations.

    Attributes:
        tokens: int32 [B, T] the (padded) input ids.
        lengths: int32 [B] valid positions per sequence.
    """

    def __init__(self, data: dict, tokens: np.ndarray, lengths: np.ndarray, n_layers: int):
        self._data = data
        self.tokens = tokens
        self.lengths = lengths
        self.n_layers = n_layers

    def _key(self, key):
        if isinstance(key, tuple):
            return act_name(*key)
        if isinstance(key, str) and _SHORT.get(key) in _GLOBAL:
            return _SHORT[key]
        return key

    def __getitem__(self, key) -> np.ndarray:
        k = self._key(key)
        try:
            return self._data[k]
        except KeyError:
            hint = (" (a short name needs a layer: cache[name, layer])"
                    if isinstance(k, str) and k in _SHORT and k not in ("logits", "embed",
                                                                         "pos_embed") else "")
            raise KeyError(f"{k!r} is not in this cache{hint}; it holds "
                           f"{len(self._data)} hooks, e.g. {list(self._data)[:4]}") from None

    def __contains__(self, key) -> bool:
        return self._key(key) in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def stack(self, name: str, layers=None) -> np.ndarray:
        """np.stack of ``cache[name, l]`` over layers (default: all) -> [L, ...]."""
        ls = range(self.n_layers) if layers is None else layers
        return np.stack([self[name, l] for l in ls])

    def valid(self, key, b: int) -> np.ndarray:
        """Sequence b of a [B, T, ...] activation without its padding: [lengths[b], ...]."""
        return self[key][b, : int(self.lengths[b])]

    def __repr__(self) -> str:
        return (f"<ActivationCache {len(self._data)} hooks, batch {self.tokens.shape[0]}, "
                f"T {self.tokens.shape[1]}>")
