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

import difflib
from collections.abc import Mapping

import numpy as np

from .errors import ArgumentError

__all__ = ["ActivationCache", "act_name", "get_act_name"]

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


_LAYER_TYPES = {"ln1": "ln1", "ln2": "ln2", "attn": "attn", "a": "attn", "mlp": "mlp",
                "m": "mlp", "ln_final": "ln_final"}
# TransformerLens' get_act_name(name, layer, layer_type) forms for the norms.
_LN_SHORT = {"scale": "hook_scale", "normalized": "hook_normalized"}


def _near(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def act_name(name: str, layer: int | None = None, layer_type: str | None = None) -> str:
    """Full hook name from a TransformerLens-style short name (get_act_name).

    ``act_name("resid_post", 3) == "blocks.3.hook_resid_post"``,
    ``act_name("z", 1) == "blocks.1.attn.hook_z"``, ``act_name("logits") == "hook_logits"``,
    ``act_name("scale", 2, "ln1") == "blocks.2.ln1.hook_scale"`` (also "ln1_scale"),
    ``act_name("normalized", None, "ln_final") == "ln_final.hook_normalized"``.
    A full name (containing "hook_") is completed with the layer if needed.
    An unknown short name raises ArgumentError with the nearest known one.
    """
    if not isinstance(name, str):
        raise TypeError(f"act_name: name must be str, not {type(name).__name__}")
    if layer_type is not None:
        lt = _LAYER_TYPES.get(layer_type)
        if lt is None:
            raise ArgumentError(f"act_name: layer_type {layer_type!r} is not one of "
                                f"{sorted(set(_LAYER_TYPES))}{_near(layer_type, _LAYER_TYPES)}")
        if lt in ("ln1", "ln2", "ln_final") and name in _LN_SHORT:
            name = f"{lt}_{name}" if lt != "ln_final" else ("ln_final" if name == "normalized"
                                                            else "ln_final_scale")
    if "hook_" in name or name.startswith("blocks."):
        suffix = name
    elif name in _SHORT:
        suffix = _SHORT[name]
    else:
        raise ArgumentError(f"act_name: unknown activation {name!r}{_near(name, _SHORT)} "
                            f"(known: {', '.join(sorted(_SHORT))})")
    if suffix in _GLOBAL or suffix.startswith("blocks.") or layer is None:
        return suffix
    return f"blocks.{int(layer)}.{suffix}"


#: TransformerLens' name for the same function.
get_act_name = act_name


class ActivationCache(Mapping):
    """Dict-like store of captured activations.

    Attributes:
        tokens: int32 [B, T] the (padded) input ids.
        lengths: int32 [B] valid positions per sequence.
    """

    def __init__(self, data: dict, tokens: np.ndarray, lengths: np.ndarray, n_layers: int,
                 model=None, padding_side: str = "right"):
        self._data = data
        self.tokens = tokens
        self.lengths = lengths
        self.n_layers = n_layers
        self.padding_side = padding_side
        self._model = model

    def _key(self, key):
        if isinstance(key, tuple):
            return act_name(*key)
        if isinstance(key, str) and _SHORT.get(key) in _GLOBAL:
            return _SHORT[key]
        return key

    def __getitem__(self, key) -> np.ndarray:
        try:
            k = self._key(key)
        except ArgumentError as e:
            raise KeyError(str(e)) from None
        try:
            return self._data[k]
        except (KeyError, TypeError):
            if isinstance(k, str) and k in _SHORT and k not in ("logits", "embed", "pos_embed"):
                hint = " (a short name needs a layer: cache[name, layer])"
            else:
                hint = _near(str(k), self._data)
            raise KeyError(f"{k!r} is not in this cache{hint}; it holds "
                           f"{len(self._data)} hooks, e.g. {list(self._data)[:4]}") from None

    def __contains__(self, key) -> bool:
        try:
            return self._key(key) in self._data
        except ArgumentError:
            return False

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
        n = int(self.lengths[b])
        a = self[key]
        return a[b, a.shape[1] - n:] if self.padding_side == "left" else a[b, :n]

    # ------------------------------------------------ TransformerLens analysis
    # Shapes: a "stack" is [C, B, T, d] (C components) or with pos_slice an int,
    # [C, B, d].  Norm scales come from the cache (ln*.hook_scale), as in
    # TransformerLens, which also means these methods need those hooks cached
    # (the default names=None caches them).

    def _pos(self, a, pos_slice, axis):
        if pos_slice is None:
            return a
        idx = [slice(None)] * a.ndim
        idx[axis] = pos_slice
        return a[tuple(idx)]

    def _final_layer(self, layer):
        return self.n_layers if layer is None or layer == -1 else int(layer)

    def accumulated_resid(self, layer=None, incl_mid=False, apply_ln=False, pos_slice=None,
                          mlp_input=False, return_labels=False):
        """The residual stream at the start of every layer up to `layer`:
        resid_pre of layers 0..layer-1 (and resid_mid with incl_mid), plus
        the final resid_post when layer is None / -1 / n_layers; with
        layer < n_layers it ends at resid_pre[layer] (resid_mid[layer] too
        when mlp_input).  Labels "0_pre", "0_mid", ..., "final_post".
        apply_ln: divide by the norm scale that reads that point
        (apply_ln_to_stack).  -> [C, B, T, d] (or [C, B, d] with an int pos_slice)."""
        L = self._final_layer(layer)
        if not 0 <= L <= self.n_layers:
            raise ArgumentError(f"layer must be in 0..{self.n_layers} (or -1 / None), not {layer}")
        comps, labels = [], []
        for l in range(L + 1):
            if l == self.n_layers:
                comps.append(self["resid_post", self.n_layers - 1])
                labels.append("final_post")
                continue
            comps.append(self["resid_pre", l])
            labels.append(f"{l}_pre")
            if (incl_mid and l < L) or (mlp_input and l == L):
                comps.append(self["resid_mid", l])
                labels.append(f"{l}_mid")
        stack = self._pos(np.stack(comps), pos_slice, 2)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, L, mlp_input=mlp_input, pos_slice=pos_slice)
        return (stack, labels) if return_labels else stack

    def decompose_resid(self, layer=None, mode="all", apply_ln=False, pos_slice=None,
                        incl_embeds=True, mlp_input=False, return_labels=False):
        """The residual stream at the start of `layer` (None / -1: the final
        resid_post) as the sum of what wrote it: hook_embed, hook_pos_embed
        (learned positions only), then each earlier layer's attn_out and
        mlp_out (mode "attn" / "mlp" keeps one kind); with mlp_input, layer's
        own attn_out too.  Labels "embed", "pos_embed", "0_attn_out",
        "0_mlp_out", ....  The components sum to resid_pre[layer] (to
        resid_mid[layer] with mlp_input).  -> [C, B, T, d]."""
        L = self._final_layer(layer)
        if not 0 <= L <= self.n_layers:
            raise ArgumentError(f"layer must be in 0..{self.n_layers} (or -1 / None), not {layer}")
        if mode not in ("all", "attn", "mlp"):
            raise ArgumentError(f"mode must be 'all', 'attn' or 'mlp', not {mode!r}")
        comps, labels = [], []
        if incl_embeds:
            comps.append(self["hook_embed"])
            labels.append("embed")
            if "hook_pos_embed" in self._data:
                comps.append(self["hook_pos_embed"])
                labels.append("pos_embed")
        for l in range(L + (1 if mlp_input and L < self.n_layers else 0)):
            if mode in ("all", "attn"):
                comps.append(self["attn_out", l])
                labels.append(f"{l}_attn_out")
            if mode in ("all", "mlp") and not (mlp_input and l == L):
                if ("mlp_out", l) in self:
                    comps.append(self["mlp_out", l])
                    labels.append(f"{l}_mlp_out")
        stack = self._pos(np.stack(comps), pos_slice, 2)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, L, mlp_input=mlp_input, pos_slice=pos_slice)
        return (stack, labels) if return_labels else stack

    def stack_head_results(self, layer=None, return_labels=False, incl_remainder=False,
                           pos_slice=None, apply_ln=False):
        """Each head's write into the residual stream, for every layer before
        `layer` (None / -1: all layers): result[l, h] = z[l][..., h, :] @
        W_O[l][h] (attn.hook_result when cached, else computed from hook_z and
        the model's W_O).  Labels "L0H0", ....  incl_remainder appends the
        residual stream minus all heads ("remainder"), so the stack sums to
        resid_pre[layer] (final resid_post).  -> [L*H, B, T, d]."""
        L = self._final_layer(layer)
        if not 0 < L <= self.n_layers:
            raise ArgumentError(f"layer must be in 1..{self.n_layers} (or -1 / None), not {layer}")
        comps, labels = [], []
        for l in range(L):
            key = f"blocks.{l}.attn.hook_result"
            if key in self._data:
                res = self._data[key]                              # [B, T, H, d]
            else:
                if self._model is None:
                    raise ArgumentError("stack_head_results needs attn.hook_result in the cache "
                                        "or the model (to apply W_O to hook_z)")
                z = self["z", l]                                   # [B, T, H, dh]
                res = np.einsum("bthe,hed->bthd", z, self._model.W_O[l], optimize=True)
            for h in range(res.shape[2]):
                comps.append(res[:, :, h])
                labels.append(f"L{l}H{h}")
        stack = np.stack(comps)
        if incl_remainder:
            total = self["resid_post", self.n_layers - 1] if L == self.n_layers \
                else self["resid_pre", L]
            stack = np.concatenate([stack, (total - stack.sum(0))[None]])
            labels.append("remainder")
        stack = self._pos(stack, pos_slice, 2)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, L, pos_slice=pos_slice)
        return (stack, labels) if return_labels else stack

    def apply_ln_to_stack(self, residual_stack, layer=None, mlp_input=False, pos_slice=None,
                          batch_slice=None, has_batch_dim=True):
        """Applies the norm that reads the residual stream at `layer` to each
        component, with the cached scale of the full stream (so the results
        add up to the normalised stream): LayerNorm subtracts each component's
        mean over d, then every norm divides by the scale (ln_final's for
        layer None / -1 / n_layers, ln2's with mlp_input, else ln1's).  The
        gain and bias are not applied, as in TransformerLens (whose weights
        have them folded in; strata's do not, see logit_attrs)."""
        L = self._final_layer(layer)
        name = "ln_final.hook_scale" if L == self.n_layers else \
            f"blocks.{L}.{'ln2' if mlp_input else 'ln1'}.hook_scale"
        x = np.asarray(residual_stack)
        if self._model is None or self._model.config.norm == "layernorm":
            x = x - x.mean(-1, keepdims=True)
        scale = self[name]                                         # [B, T, 1]
        if batch_slice is not None:
            scale = scale[batch_slice]
        scale = self._pos(scale, pos_slice, 1)
        if not has_batch_dim:
            scale = scale[0]
        return x / scale

    def logit_attrs(self, residual_stack, tokens, incorrect_tokens=None, pos_slice=None,
                    batch_slice=None, has_batch_dim=True):
        """Each component's direct contribution to the logit of `tokens` (minus
        that of incorrect_tokens): apply_ln_to_stack(stack, final) . (ln_final.w
        * W_U[:, token]).  strata keeps the final norm's gain in ln_final.w
        rather than folding it into W_U, so it is multiplied here; the logit
        then equals the sum of the attributions over decompose_resid() plus
        ln_final.b . W_U[:, token] + b_U[token].  tokens: an id, a str (one
        token), or an int array [B] / [B, T] broadcast against the stack's
        batch (and position) axes.  -> the stack's shape without d."""
        if self._model is None:
            raise ArgumentError("logit_attrs needs the model (run_with_cache sets it)")
        d = self._directions(tokens)
        if incorrect_tokens is not None:
            d = d - self._directions(incorrect_tokens)
        x = self.apply_ln_to_stack(residual_stack, None, pos_slice=pos_slice,
                                   batch_slice=batch_slice, has_batch_dim=has_batch_dim)
        if d.ndim == 2 and x.ndim == 4:          # [B, d] against [C, B, T, d]
            d = d[:, None, :]
        return (x * d).sum(-1)

    def _directions(self, tokens):
        m = self._model
        if isinstance(tokens, str):
            ids = m.tokenize(tokens, add_bos=False)
            if len(ids) != 1:
                raise ArgumentError(f"{tokens!r} is {len(ids)} tokens, not one")
            tokens = int(ids[0])
        W_U = m.W_U                                                # [d, V]
        g = m.weight("ln_final.w") if "ln_final.w" in m.weight_names() else 1.0
        t = np.asarray(tokens)
        return (W_U[:, t].T if t.ndim else W_U[:, int(t)]) * g

    def __repr__(self) -> str:
        return (f"<ActivationCache {len(self._data)} hooks, batch {self.tokens.shape[0]}, "
                f"T {self.tokens.shape[1]}, {self.padding_side}-padded>")
