#!/usr/bin/env python3
"""Generate tarjim's tokenizer fixtures (rerunnable; run from the repository root).

    .venv/bin/python scripts/gen_tokenizer_fixtures.py

Reference: transformers 5.23.0 ``MarianTokenizer`` (Python backend) and sentencepiece 0.2.3.
sacremoses must NOT be installed: without it ``MarianTokenizer`` applies no Moses punctuation
normalization, which is what tarjim reproduces.

Inputs (read-only, beside the clone): ``data/spm/opus-mt-ar-fr/{source,target}.spm``,
``data/eval/flores200-devtest/arb_Arab.txt`` (all lines, parity only),
``data/corpus/000_ed67191bc9fdfc38.txt`` (seed article) and, when present,
``tests/fixtures/tiny/`` (the tiny SentencePiece pair of the fixture model).

Outputs:

* ``tests/fixtures/ar-fr-vocab/vocab.json`` and ``tokenizer_config.json``: a Marian joint
  vocabulary for the real opus-mt-ar-fr SentencePiece models (order documented in
  ``marian_vocab`` and in that folder's ``SOURCE.md``).
* ``tests/fixtures/tokenizer/<set>-encode.jsonl``: one JSON object per input line:
  ``kind`` (flores / article / hard), ``name`` (hard cases only), ``text``, ``pieces``
  (``MarianTokenizer.tokenize``), ``ids`` (``input_ids``, with ``</s>``), ``decoded``
  (``decode(ids, skip_special_tokens=True)``) and, except for FLORES lines, ``normalized``
  and ``norm_offsets`` (``SentencePieceProcessor.Normalize(text, with_offsets=True)`` of the
  source model: offsets in Unicode characters, one per normalized character plus the end).
* ``tests/fixtures/tokenizer/<set>-decode.jsonl``: ``ids`` and ``decoded`` for id
  sequences that mix random pieces of both languages with ``<pad>``, ``</s>`` and ``<unk>``.

``<set>`` is ``ar-fr`` (real models) and ``tiny`` (fixture model, when present).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

# Run from the repository root as ``scripts/...``: its folder is on sys.path.
from gen_model_fixtures import marian_vocab, write_json

SHARED = Path("data")
AR_FR_SPM = SHARED / "spm" / "opus-mt-ar-fr"
FLORES_AR = SHARED / "eval" / "flores200-devtest" / "arb_Arab.txt"
SEED_ARTICLE = SHARED / "corpus" / "000_ed67191bc9fdfc38.txt"
AR_FR_VOCAB = Path("tests/fixtures/ar-fr-vocab")
TINY = Path("tests/fixtures/tiny")
OUT = Path("tests/fixtures/tokenizer")

TOKENIZER_CONFIG = {
    "source_lang": "ar",
    "target_lang": "fr",
    "unk_token": "<unk>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "model_max_length": 512,
    "sp_model_kwargs": {},
    "separate_vocabs": False,
    "tokenizer_class": "MarianTokenizer",
}

# Hand-written hard cases: (name, text).
HARD_CASES: list[tuple[str, str]] = [
    ("empty", ""),
    ("space_only", " "),
    ("whitespace_only", " \t \u00a0\n "),
    ("harakat", "ذَهَبَ الوَلَدُ إِلَى المَدْرَسَةِ صَبَاحًا"),
    ("shadda_sukun", "مُحَمَّدٌ رَسُولُ اللَّهِ، قُلْ هُوَ"),
    ("tatweel", "الـــعـــربـــيـــة جـمـيـلـة ـ"),
    ("arabic_indic_digits", "قُتل ١٢٣ شخصاً في ٢٠٢٤/١١/٢٩ و٤٥٪ منهم"),
    ("persian_digits", "۱۲۳۴۵۶۷۸۹۰ تومان"),
    ("latin_digits", "ارتفع المؤشر 3.5% إلى 12,345.67 نقطة عام 2024"),
    ("latin_words", "قالت Reuters إن شركة Apple Inc. أعلنت عن iPhone 16 Pro"),
    ("mixed_scripts", "مؤتمر COP28 في دبي (UAE) — Москва 北京 Ελλάδα"),
    ("emoji", "سوريا 🇸🇾 حلب 😀 👍🏽"),
    ("emoji_sequence", "👨‍👩‍👧‍👦🏳️‍🌈❤️‍🔥 عائلة"),
    ("unknown_run", "☃☃☃ ♜♞♝ ⌘⌥⇧ 𝔸𝔹ℂ"),
    ("unknown_mixed", "حلب☃دمشق♜بغداد"),
    ("persian_letters", "کتاب یک گچ پول ژاله چای"),
    ("urdu_letters", "ہے ں ڈ ٹ ے"),
    ("presentation_forms", "ﻻ ﷲ ﷺ ﻷ ﺍﻟﻌﺮﺑﻴﺔ ﷼"),
    ("zwj_zwnj", "می\u200cخواهم ع\u200dر\u200d ب"),
    ("bidi_marks", "\u200fمرحبا\u200e hello \u202bعربي\u202c \u2066x\u2069"),
    ("zero_width_space", "كلمة\u200bكلمة\ufeffنهاية"),
    ("tabs", "سوريا\tالعراق\t\tلبنان\t"),
    ("multiple_spaces", "قال    الرئيس  إن   الحكومة"),
    ("leading_trailing_spaces", "   بيان رسمي   "),
    ("newlines", "سطر أول\nسطر ثان\r\nثالث"),
    ("nbsp", "\u00a0السلام\u00a0عليكم\u00a0 \u00a0"),
    ("other_spaces", "a\u2002b\u2003c\u3000d\u202fe\u205ff\u1680g"),
    ("control_chars", "a\x00b\x01c\x1fd\x7fe\x85f"),
    ("fullwidth", "ＡＢＣ１２３！？"),
    ("ligatures_compat", "ﬁne ﬀ ½ ¾ ² ℃ ™ ① ㎞"),
    ("quotes_punct", "قال: «نحن هنا» و“هناك” – ‘هنا’ … ؟!؛"),
    ("arabic_punct", "أين؟ هنا، هناك؛ ٪ ٫ ٬ ۔"),
    ("brackets_ads", "[ad_1] نص [ad_2] (غيتي) {x} <b>"),
    ("url_email", "https://www.aljazeera.net/news/2024 info@example.com #سوريا @user"),
    ("lang_code_fr", ">>fr<< مرحبا بكم"),
    ("lang_code_only", ">>fr<<"),
    ("lang_code_no_space", ">>ara<<مرحبا"),
    ("lang_code_unclosed", ">>fr مرحبا"),
    ("lang_code_not_first", " >>fr<< مرحبا"),
    ("lang_code_empty", ">><<x"),
    ("special_eos_in_text", "مرحبا </s> بكم"),
    ("special_unk_pad_in_text", "<unk>x<pad>y </s></s>"),
    ("special_after_code", ">>fr<<</s>>>en<< z"),
    ("angle_brackets", "<s> <unk <pad < /s> >> << <<>>"),
    ("spm_meta_symbol", "▁ ▁▁x ▁مرحبا"),
    ("replacement_char", "\ufffd x \ufffd\ufffd"),
    ("hebrew_syriac_thaana", "שלום ܫܠܡܐ ދިވެހި"),
    ("combining_marks", "e\u0301 a\u0300 \u0651\u064e ا\u0653"),
    ("hamza_forms", "أإآءؤئ ٱ ى ة"),
    ("single_char", "ا"),
    ("single_latin", "x"),
    ("single_emoji", "😀"),
    ("long_line", "قال المتحدث باسم الحكومة إن الوزارة ستواصل العمل. " * 45),
    ("long_unknown_run", "☃" * 300),
]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path}: {len(rows)} lines, {path.stat().st_size} bytes")


def build_ar_fr_vocab() -> None:
    AR_FR_VOCAB.mkdir(parents=True, exist_ok=True)
    vocab = marian_vocab([AR_FR_SPM / "source.spm", AR_FR_SPM / "target.spm"])
    write_json(AR_FR_VOCAB / "vocab.json", vocab)
    write_json(AR_FR_VOCAB / "tokenizer_config.json", TOKENIZER_CONFIG)
    print(f"{AR_FR_VOCAB / 'vocab.json'}: {len(vocab)} entries, <pad> = {vocab['<pad>']}")


def load_tokenizer(spm_dir: Path, vocab_dir: Path):
    """``MarianTokenizer.from_pretrained`` on a temporary folder with the four files."""
    from transformers import MarianTokenizer

    tmp = Path(tempfile.mkdtemp(prefix="tarjim-tok-"))
    for name in ["source.spm", "target.spm"]:
        shutil.copyfile(spm_dir / name, tmp / name)
    for name in ["vocab.json", "tokenizer_config.json"]:
        shutil.copyfile(vocab_dir / name, tmp / name)
    tok = MarianTokenizer.from_pretrained(str(tmp))
    shutil.rmtree(tmp)
    return tok


def input_lines(flores_step: int) -> list[tuple[str, str | None, str]]:
    """(kind, name, text) for every ``flores_step``-th FLORES devtest line, every
    seed-article line and every hard case."""
    rows: list[tuple[str, str | None, str]] = []
    flores = FLORES_AR.read_text(encoding="utf-8").splitlines()
    rows += [("flores", None, t) for t in flores[::flores_step]]
    rows += [("article", None, t) for t in SEED_ARTICLE.read_text(encoding="utf-8").splitlines()]
    rows += [("hard", name, t) for name, t in HARD_CASES]
    return rows


def encode_rows(tok, lines) -> list[dict]:
    import sentencepiece as spm

    sp = tok.spm_source
    assert isinstance(sp, spm.SentencePieceProcessor)
    batch_ids = tok([t for _, _, t in lines])["input_ids"]
    rows = []
    for (kind, name, text), ids_batch in zip(lines, batch_ids):
        pieces = tok.tokenize(text)
        ids = tok(text)["input_ids"]
        assert ids == ids_batch, (text, ids, ids_batch)
        assert ids == tok.convert_tokens_to_ids(pieces) + [tok.eos_token_id], text
        row = {"kind": kind}
        if name is not None:
            row["name"] = name
        row.update(text=text, pieces=pieces, ids=ids, decoded=tok.decode(ids, skip_special_tokens=True))
        if kind != "flores":  # FLORES lines: the pieces already spell the normalized text
            normalized, offsets = sp.Normalize(text, with_offsets=True)
            row.update(normalized=normalized, norm_offsets=offsets)
        rows.append(row)
    return rows


def decode_rows(tok, encoded: list[dict], seed: int, count: int) -> list[dict]:
    """Random id sequences over the whole vocabulary (so target-only pieces, which the
    source model does not know, are decoded too) with special ids mixed in, plus a few
    fixed shapes."""
    rng = random.Random(seed)
    vocab_size = len(tok.encoder)
    specials = [tok.pad_token_id, tok.eos_token_id, tok.unk_token_id]
    seqs: list[list[int]] = [
        [],
        [tok.pad_token_id],
        [tok.eos_token_id],
        [tok.unk_token_id],
        specials * 3,
        [tok.pad_token_id] + encoded[0]["ids"],
        [tok.pad_token_id] + encoded[1]["ids"] + [tok.pad_token_id] * 4,
    ]
    for row in encoded[:40]:
        ids = [i for i in row["ids"]]
        for _ in range(3):
            ids.insert(rng.randrange(len(ids) + 1), rng.choice(specials))
        seqs.append(ids)
    for _ in range(count):
        n = rng.randrange(1, 40)
        ids = []
        for _ in range(n):
            r = rng.random()
            if r < 0.1:
                ids.append(rng.choice(specials))
            elif r < 0.55:
                ids.append(rng.randrange(vocab_size))
            else:  # bias towards low ids: frequent pieces (▁, punctuation, short words)
                ids.append(rng.randrange(min(vocab_size, 300)))
        seqs.append(ids)
    return [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=True)} for ids in seqs]


def gen_set(name: str, spm_dir: Path, vocab_dir: Path, lines, decode_count: int) -> None:
    tok = load_tokenizer(spm_dir, vocab_dir)
    encoded = encode_rows(tok, lines)
    write_jsonl(OUT / f"{name}-encode.jsonl", encoded)
    write_jsonl(OUT / f"{name}-decode.jsonl", decode_rows(tok, encoded, seed=20241129, count=decode_count))


def main() -> None:
    import sentencepiece
    import transformers

    assert transformers.__version__ == "5.23.0", transformers.__version__
    assert sentencepiece.__version__ == "0.2.3", sentencepiece.__version__
    try:
        import sacremoses  # noqa: F401

        raise SystemExit("uninstall sacremoses: tarjim reproduces MarianTokenizer without it")
    except ImportError:
        pass

    OUT.mkdir(parents=True, exist_ok=True)
    build_ar_fr_vocab()
    gen_set("ar-fr", AR_FR_SPM, AR_FR_VOCAB, input_lines(flores_step=1), decode_count=400)
    if (TINY / "source.spm").exists():
        # Every other FLORES line keeps the fixture small; the tiny model's 250 pieces
        # already make every line long in pieces and rich in unknown characters.
        gen_set("tiny", TINY, TINY, input_lines(flores_step=2), decode_count=200)
    else:
        print(f"{TINY} has no source.spm yet: tiny fixtures skipped")


if __name__ == "__main__":
    main()
