#!/usr/bin/python3
"""Writes a JSONL corpus of TinyStories-style documents with two token
properties derivable from the text, as character-span labels for
`strata capture --jsonl` (docs/FORMAT.md):

  in_quote     1 for tokens inside a quotation ("..."), quote marks excluded
  word_start   1 for tokens that begin a word (the word's first character)

usage: stories_corpus.py OUT.jsonl [--docs 400] [--seed 0]
"""
import argparse
import json
import random
import re

NAMES = ["Lily", "Tom", "Sue", "Ben", "Mia", "Max", "Anna", "Sam", "Lucy", "Tim"]
OBJS = ["ball", "cat", "dog", "box", "car", "tree", "cake", "toy", "bird", "hat"]
ADJ = ["big", "red", "little", "happy", "sad", "shiny", "soft", "funny"]
PLACES = ["park", "garden", "house", "school", "forest", "beach"]
SAYS = ["I like the {a} {o}.", "Can we go to the {p}?", "Look at my {o}!", "Let us play with the {o}.",
        "The {o} is {a}.", "I want a {a} {o}.", "Where is the {o}?", "Thank you, {n}!",
        "We can share the {o}.", "Do not be sad."]
NARR = ["{n} went to the {p}.", "{n} saw a {a} {o}.", "One day, {n} found a {o}.",
        "{n} and {m} played with the {o}.", "The {o} was very {a}.", "{n} was {a}.",
        "They went home.", "The sun was shining.", "{n} smiled."]


def fill(t, r):
    return t.format(n=r.choice(NAMES), m=r.choice(NAMES), o=r.choice(OBJS), a=r.choice(ADJ),
                    p=r.choice(PLACES))


def doc(r):
    parts = []
    for _ in range(r.randint(3, 6)):
        if r.random() < 0.5:
            parts.append(fill(r.choice(NARR), r))
        else:
            who = r.choice(NAMES)
            q = fill(r.choice(SAYS), r)
            parts.append(r.choice([f'{who} said, "{q}"', f'"{q}" said {who}.']))
    return " ".join(parts)


def spans(text):
    quote = []
    inside = False
    for i, ch in enumerate(text):
        if ch == '"':
            if not inside:
                start = i + 1
            else:
                quote.append([start, i, 1])
            inside = not inside
    words = [[m.start(), m.start() + 1, 1] for m in re.finditer(r"[A-Za-z]+", text)]
    return quote, words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    r = random.Random(a.seed)
    with open(a.out, "w") as f:
        for _ in range(a.docs):
            t = doc(r)
            q, w = spans(t)
            f.write(json.dumps({"text": t, "in_quote": q, "word_start": w}) + "\n")


if __name__ == "__main__":
    main()
