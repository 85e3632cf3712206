#!/usr/bin/env python3
"""Turn a plain-text corpus (one document per line) into strata capture JSONL,
labelling every character inside a quotation.

Each output line is {"text": ..., "in_quote": [[start, end, 1], ...]} where
[start, end) are character offsets covering a quotation from its opening to its
closing double quote (both included). `strata capture --jsonl` gives each token
the value of the span holding its first character (0 elsewhere), so the label
reads "this token lies inside a quotation". Standard library only.
"""
import json
import sys


def quote_spans(text):
    spans, start = [], None
    for i, ch in enumerate(text):
        if ch == '"':
            if start is None:
                start = i
            else:
                spans.append([start, i + 1, 1])
                start = None
    if start is not None:  # unclosed quotation runs to the end of the document
        spans.append([start, len(text), 1])
    return spans


def main():
    src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    for line in src:
        text = line.rstrip("\n")
        if text.strip():
            print(json.dumps({"text": text, "in_quote": quote_spans(text)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
