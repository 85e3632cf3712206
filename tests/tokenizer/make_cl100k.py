#!/usr/bin/env python3
"""Builds a Llama-3-style tokenizer.json from tiktoken's cl100k_base ranks.

usage: make_cl100k.py TIKTOKEN_PKG_DIR OUT_DIR
  TIKTOKEN_PKG_DIR  the npm package folder (node_modules/tiktoken), which ships
                    encoders/cl100k_base.json ({"pat_str", "special_tokens", "bpe_ranks"})
  OUT_DIR           gets tokenizer.json (about 4 MB; not committed)

cl100k_base uses the Llama-3 split pattern, so this exercises strata's Split
(Regex) + ByteLevel(use_regex false) + ignore_merges path against tiktoken
itself (expected ids: "cl100k_tiktoken" in expected.json, from oracle.mjs).
Merges are recovered from the ranks as transformers' TikTokenConverter does:
each token's merge is the last step of rank-limited byte-pair merging.
"""
import base64
import json
import os
import sys


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe(ranks, token, max_rank):
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best is None or r < best[1]):
                best = (i, r)
        if best is None or best[1] >= max_rank:
            return parts
        i = best[0]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]


def main():
    pkg, out = sys.argv[1], sys.argv[2]
    d = json.load(open(os.path.join(pkg, "encoders", "cl100k_base.json")))
    ranks, rank = {}, 0
    for tok in d["bpe_ranks"].split():
        if tok == "!":
            rank = None
            continue
        if rank is None:
            rank = int(tok)
            continue
        ranks[base64.b64decode(tok)] = rank
        rank += 1
    b2u = bytes_to_unicode()
    s = lambda b: "".join(b2u[x] for x in b)
    vocab, merges = {}, []
    for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        vocab[s(tok)] = r
        if len(tok) > 1:
            parts = bpe(ranks, tok, r)
            assert len(parts) == 2, tok
            merges.append(s(parts[0]) + " " + s(parts[1]))
    added = [{"id": i, "content": c, "special": True, "lstrip": False, "rstrip": False,
              "single_word": False, "normalized": False} for c, i in d["special_tokens"].items()]
    tj = {
        "version": "1.0", "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": d["pat_str"]}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": merges},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {out}/tokenizer.json")


if __name__ == "__main__":
    main()
