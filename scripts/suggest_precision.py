#!/usr/bin/env python3
"""Top-N precision and kind accuracy of `tarjim glossary suggest`, from labels.

Runs nothing: it reads a suggestions file (the output of `glossary suggest`) and
a labels file written by hand, and prints, over the top N suggestions (50 by
default), the share of rows that are right and, among the right rows, the share
whose kind is right. Rows without a label are listed and counted as wrong.

Labels file (tab-separated, `#` lines are comments): arabic, english, right
(yes/no), kind right (yes/no; `-` for a wrong row).

    cargo build --release
    F=/path/to/flores200-devtest
    target/release/tarjim glossary suggest --source $F/arb_Arab.txt \\
        --target $F/eng_Latn.txt -o /tmp/suggest.tsv
    scripts/suggest_precision.py /tmp/suggest.tsv tests/data/suggest-labels.tsv

Standard library only.
"""

import argparse
import sys


def read_rows(path):
    """The (arabic, english, kind) rows of a glossary file, header skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            fields = line.rstrip("\n").split("\t")
            if i == 0 or line.startswith("#") or len(fields) < 3:
                continue
            rows.append((fields[0], fields[1], fields[2]))
    return rows


def read_labels(path):
    """{(arabic, english): (right, kind_right)} from a labels file."""
    labels = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4 or fields[2] not in ("yes", "no") or fields[3] not in ("yes", "no", "-"):
                sys.exit(f"{path}:{n}: want arabic, english, yes/no, yes/no/-")
            labels[(fields[0], fields[1])] = (fields[2] == "yes", fields[3] == "yes")
    return labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suggestions")
    parser.add_argument("labels")
    parser.add_argument("--top", type=int, default=50)
    args = parser.parse_args()
    rows = read_rows(args.suggestions)[: args.top]
    labels = read_labels(args.labels)
    right = kind_right = 0
    for arabic, english, kind in rows:
        label = labels.get((arabic, english))
        if label is None:
            print(f"unlabelled: {arabic}\t{english}\t{kind}")
            continue
        right += label[0]
        kind_right += label[0] and label[1]
    if not rows:
        sys.exit("no suggestions")
    print(f"rows: {len(rows)} (top {args.top})")
    print(f"precision: {right}/{len(rows)} = {100 * right / len(rows):.0f}%")
    if right:
        print(f"kind right: {kind_right}/{right} = {100 * kind_right / right:.0f}%")


if __name__ == "__main__":
    main()
