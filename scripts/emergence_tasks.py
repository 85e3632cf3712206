#!/usr/bin/env python3
"""Task files (strata eval / sweep task:FILE) from strata corpus JSONL, standard library only.

usage: emergence_tasks.py copy CORPUS.jsonl > TASK.jsonl
           repeat corpus: prompt = the document up to and including the first token of the
           repeated copy, answer = the rest of the copy (the tokens induction can predict)
       emergence_tasks.py answer CORPUS.jsonl > TASK.jsonl
           corpora with an "answer" label (modular, addition): prompt = the ids before the
           first answer token, answer = the answer tokens
"""
import json
import sys


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("copy", "answer"):
        sys.exit(__doc__)
    mode, path = sys.argv[1], sys.argv[2]
    out = sys.stdout
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            ids = d["ids"]
            lab = d["in_copy"] if mode == "copy" else d["answer"]
            pos = [i for i, v in enumerate(lab) if v]
            if not pos or pos != list(range(pos[0], pos[-1] + 1)):
                sys.exit(f"{path}:{n}: no contiguous labelled span")
            start = pos[0] + 1 if mode == "copy" else pos[0]
            if start > pos[-1]:
                continue
            out.write(json.dumps({"prompt_ids": ids[:start], "answer_ids": ids[start:pos[-1] + 1]}) + "\n")


if __name__ == "__main__":
    main()
