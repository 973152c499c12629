#!/usr/bin/env python3
"""Make ``glossaries/common-ar.tsv``, the Arabic common-word list that ``tarjim glossary
lint`` reads to find glossary forms that are also common words (rerunnable; run from the
repository root):

    python3 -m venv .venv-data && .venv-data/bin/pip install -r scripts/requirements-data.txt
    .venv-data/bin/python scripts/make_common_words.py

Source: the Arabic "large" word list that the PyPI package wordfreq ships inside itself
(``wordfreq/data/large_ar.msgpack.gz``; version pinned in ``scripts/requirements-data.txt``).
wordfreq's code is Apache-2.0; its data, and so this list, are CC BY-SA 4.0 (see
``glossaries/README.md``).

wordfreq already removes Arabic combining marks and tatweel and applies NFKC, but keeps
the alef forms, ى and ي apart. Each word is folded here as ``src/glossary/normalize.rs``
folds text (أ إ آ ٱ → ا, ى ی → ي, ۀ → ه, ک → ك; ة stays apart from ه), the frequencies
of words that fold alike are summed, words with anything but Arabic letters (U+0621 to
U+064A) after folding are dropped, and the most frequent ``--top`` words are kept.

Output: ``#`` header lines naming the source, version, licence and this command, then
one ``word<TAB>zipf`` line per word, sorted by word (Unicode code points, which is
UTF-8 byte order). Zipf is log10 of occurrences per billion words, with two decimals.
"""

from __future__ import annotations

import argparse
import math
import re
from importlib.metadata import version
from pathlib import Path

import wordfreq

# What src/glossary/normalize.rs removes (is_removed) and how it folds letters (fold_letter).
REMOVED = re.compile(
    "[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad]"
)
LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "\u0672": "ا",
        "\u0673": "ا",
        "ى": "ي",
        "ی": "ي",
        "ې": "ي",
        "ٸ": "ي",
        "ۀ": "ه",
        "ە": "ه",
        "ک": "ك",
        "ڪ": "ك",
        "ٶ": "ؤ",
    }
)
ARABIC_WORD = re.compile("[\u0621-\u064a]+")

OUT = Path("glossaries/common-ar.tsv")


def fold(word: str) -> str:
    return REMOVED.sub("", word).translate(LETTERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=50_000, help="how many words to keep (default 50000)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output file (default {OUT})")
    args = parser.parse_args()

    folded: dict[str, float] = {}
    for word, freq in wordfreq.get_frequency_dict("ar", wordlist="large").items():
        key = fold(word)
        if ARABIC_WORD.fullmatch(key):
            folded[key] = folded.get(key, 0.0) + freq
    # Most frequent first, ties by word, so that the cut is deterministic.
    kept = sorted(folded.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]
    lowest = math.log10(kept[-1][1]) + 9

    wf = version("wordfreq")
    command = "python scripts/make_common_words.py"
    if args.top != 50_000:
        command += f" --top {args.top}"
    header = [
        "Arabic common words for `tarjim glossary lint`: word<TAB>Zipf frequency (log10 per billion words).",
        f"Source: wordfreq {wf} (https://pypi.org/project/wordfreq/{wf}/), Arabic `large` list, by Robyn Speer,",
        "from Wikipedia, OPUS OpenSubtitles 2018 (attribution to OpenSubtitles), NewsCrawl 2014, GlobalVoices,",
        "OSCAR and Twitter.",
        "Licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as the wordfreq data it is",
        "derived from; wordfreq's code is Apache-2.0. See glossaries/README.md.",
        "Words folded as src/glossary/normalize.rs folds them, frequencies of words that fold alike summed;",
        f"the {len(kept)} most frequent (Zipf >= {lowest:.2f}), sorted by word.",
        f"Made by: {command} (wordfreq pinned in scripts/requirements-data.txt).",
    ]
    lines = [f"# {line}" for line in header]
    lines += [f"{word}\t{math.log10(freq) + 9:.2f}" for word, freq in sorted(kept)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(kept)} words, Zipf >= {lowest:.2f}")


if __name__ == "__main__":
    main()
