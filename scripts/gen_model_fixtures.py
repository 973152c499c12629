#!/usr/bin/env python3
"""Generate tarjim's model fixtures (rerunnable; run from the repository root).

    .venv/bin/python scripts/gen_model_fixtures.py [--only tokenizer|tiny|legacy|decoding|exact|big|attention]

Outputs (all committed, all small):

* ``tests/fixtures/tiny/``: a tiny SentencePiece pair (``source.spm`` Arabic,
  ``target.spm`` English), the Marian joint ``vocab.json``, ``tokenizer_config.json``
  and a tiny trained ``MarianMTModel`` (``config.json``, ``generation_config.json``,
  ``model.safetensors`` in the new key layout: ``model.shared.weight`` and
  ``final_logits_bias`` only).
* ``tests/fixtures/tiny-bin/``: the same weights as ``pytorch_model.bin`` in the old
  hub layout (repeated ``embed_tokens``, ``embed_positions`` and ``lm_head`` keys).
* ``tests/fixtures/tiny-f16/``: the same weights as float16 ``model.safetensors``.
* ``tests/fixtures/tiny-legacy/``: the committed ``tests/fixtures/tiny`` weights re-saved
  (never retrained) as the hub's 2020 opus-mt repositories hold them: only a
  ``pytorch_model.bin`` in PyTorch's legacy (pre-1.6, non-zip) serialization, written
  by ``torch.save(..., _use_new_zipfile_serialization=False)``, in the 2020 key layout
  (``model.shared.weight`` and both ``embed_tokens`` sharing one storage, both
  ``embed_positions``, ``final_logits_bias``, no ``lm_head``), an ``OrderedDict`` with
  ``_metadata`` as ``state_dict()`` returns it.
* ``tests/fixtures/legacy/``: small legacy-format files for the reader: ``views.bin``
  (tensors sharing one storage, views with offsets and strides, f16, bf16, a scalar,
  an empty tensor, a ``Parameter``) with ``views.json`` holding what torch reads back,
  and ``long.bin`` (an int64 tensor, a dtype the model does not take).
* ``tests/fixtures/model/``: HF reference outputs (``tiny_reference.json`` with
  the inputs, ``tiny_logits.safetensors`` with the logits).
* ``tests/fixtures/decoding/``: ``tiny_generate.json`` (HF ``generate`` on the tiny
  model: greedy and beam search under several settings, batches of mixed lengths,
  sequences, scores and decoded text) and ``exact_shape.json`` (the exact-shape model
  on FLORES devtest lines tokenized with the real opus-mt-ar-fr source model: greedy
  and beam 4 outputs, and teacher-forced logits at sampled vocabulary columns).

* ``tests/fixtures/align/``: HF ``output_attentions=True`` cross-attention
  probabilities of the tiny model on the teacher-forced reference batch
  (``tiny_attention.json`` with the inputs, ``tiny_cross_attentions.safetensors``
  with every decoder layer's heads), for ``MarianMTModel::decode_with_attention``.

The exact-shape model (opus-mt-ar-en's shapes) has generated weights, see
``exact_shape_state_dict``; the Rust twin is ``tarjim::model::generated``.
Only reference outputs of it are committed, never its weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

FIXTURES = Path("tests/fixtures")
TINY = FIXTURES / "tiny"
TINY_BIN = FIXTURES / "tiny-bin"
TINY_F16 = FIXTURES / "tiny-f16"
TINY_LEGACY = FIXTURES / "tiny-legacy"
LEGACY = FIXTURES / "legacy"
REFERENCE = FIXTURES / "model"
SEED_ARTICLE = Path("data/corpus/000_ed67191bc9fdfc38.txt")
FLORES_AR = Path("data/eval/flores200-devtest/arb_Arab.txt")

# ---------------------------------------------------------------------------
# 1. Tiny SentencePiece pair and Marian vocabulary
# ---------------------------------------------------------------------------

# Arabic sentences written for the fixture (added to the seed article).
ARABIC_EXTRA = [
    "قال رئيس الوزراء إن الحكومة ستعلن عن خطة جديدة للاقتصاد الأسبوع المقبل.",
    "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار منظمة أوبك.",
    "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين.",
    "أعلنت وزارة الصحة عن تسجيل حالات جديدة في عدة مدن.",
    "فاز الفريق الوطني بالمباراة النهائية أمام جمهور كبير.",
    "عقد مجلس الأمن جلسة طارئة لبحث الوضع في المنطقة.",
    "قالت الشرطة إن الحادث وقع صباح اليوم ولم يسفر عن إصابات.",
    "تستضيف المدينة مؤتمرا دوليا حول المناخ والطاقة المتجددة.",
    "أكد الرئيس أن بلاده تدعم الحوار والحل السياسي للأزمة.",
    "انخفض سعر صرف العملة المحلية أمام الدولار يوم الخميس.",
    "بدأ الطلاب امتحاناتهم النهائية في المدارس الحكومية.",
    "ذكرت وكالة الأنباء أن الاجتماع سيعقد في بغداد الشهر المقبل.",
]

# English news-style sentences written for the fixture (never FLORES text).
ENGLISH_TEXT = [
    "The prime minister said the government would announce a new economic plan next week.",
    "Oil prices rose on world markets after the OPEC decision.",
    "The foreign minister arrived in Cairo on a two-day official visit.",
    "The health ministry reported new cases in several cities.",
    "The national team won the final in front of a large crowd.",
    "The Security Council held an emergency session to discuss the situation in the region.",
    "Police said the accident happened this morning and no one was injured.",
    "The city is hosting an international conference on climate and renewable energy.",
    "The president said his country supports dialogue and a political solution to the crisis.",
    "The local currency fell against the dollar on Thursday.",
    "Students began their final exams in public schools.",
    "The news agency said the meeting would be held in Baghdad next month.",
    "Opposition factions sought to reassure the Iraqi government on Sunday.",
    "Rebel forces took control of Aleppo, the second largest city in Syria.",
    "The offensive in northwestern Syria poses no threat to neighbouring states.",
    "Armed groups sent more fighters across the border, officials said.",
    "The message stressed a commitment to stability and common interests.",
    "Thousands of people fled their homes as the fighting spread.",
    "The United Nations called for an immediate ceasefire and humanitarian access.",
    "Parliament approved the budget after a long debate on Tuesday.",
    "Heavy rain caused flooding in the capital and closed several roads.",
    "The central bank kept interest rates unchanged for the third month.",
    "Talks between the two sides are expected to resume in Geneva.",
    "The army said it had repelled an attack on its positions near the city.",
    "Airlines cancelled dozens of flights because of the storm.",
    "The minister denied reports that he would resign from his post.",
    "Exports grew by five percent in the first half of the year.",
    "Doctors warned that hospitals were running short of medicine and fuel.",
    "The court sentenced the former official to three years in prison.",
    "Elections will be held in the spring, the electoral commission announced.",
    "Residents said they heard loud explosions during the night.",
    "The company plans to build a new factory that will employ hundreds of workers.",
]


def train_spm(sentences: list[str], prefix: Path, vocab_size: int) -> None:
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_prefix=str(prefix),
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        normalization_rule_name="nmt_nfkc",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    prefix.with_suffix(".model").rename(prefix.with_suffix(".spm"))
    prefix.with_suffix(".vocab").unlink()


def marian_vocab(spm_paths: list[Path]) -> dict[str, int]:
    """Marian's joint vocabulary: ``</s>`` 0, ``<unk>`` 1, the pieces of every
    model in order (first occurrence wins), ``<pad>`` last."""
    import sentencepiece as spm

    vocab = {"</s>": 0, "<unk>": 1}
    for path in spm_paths:
        sp = spm.SentencePieceProcessor(model_file=str(path))
        for i in range(sp.get_piece_size()):
            if sp.is_control(i) or sp.is_unknown(i):
                continue
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


TOKENIZER_CONFIG = {
    "source_lang": "ar",
    "target_lang": "en",
    "unk_token": "<unk>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "model_max_length": 512,
    "sp_model_kwargs": {},
    "separate_vocabs": False,
    "special_tokens_map_file": None,
    "tokenizer_class": "MarianTokenizer",
}

TOKENIZER_FILES = ["source.spm", "target.spm", "vocab.json", "tokenizer_config.json"]


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def gen_tokenizer() -> None:
    TINY.mkdir(parents=True, exist_ok=True)
    article = [
        line.strip() for line in SEED_ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    train_spm(article + ARABIC_EXTRA, TINY / "source", vocab_size=250)
    train_spm(ENGLISH_TEXT, TINY / "target", vocab_size=250)
    vocab = marian_vocab([TINY / "source.spm", TINY / "target.spm"])
    write_json(TINY / "vocab.json", vocab)
    write_json(TINY / "tokenizer_config.json", TOKENIZER_CONFIG)

    from transformers import MarianTokenizer

    tok = MarianTokenizer.from_pretrained(str(TINY))
    ids = tok(ARABIC_EXTRA[0])["input_ids"]
    assert ids[-1] == 0 and tok.unk_token_id == 1 and tok.pad_token_id == len(vocab) - 1, ids
    print(f"tokenizer: {len(vocab)} ids, sample {ids}")


def copy_tokenizer_files(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if dest.resolve() == TINY.resolve():
        return
    for name in TOKENIZER_FILES:
        shutil.copyfile(TINY / name, dest / name)


# ---------------------------------------------------------------------------
# 2. Tiny trained MarianMTModel
# ---------------------------------------------------------------------------

TINY_MAX_POSITIONS = 256


def hub_config(vocab_size: int, **arch) -> dict:
    """A ``config.json`` in the shape of the hub's opus-mt files (generation fields
    included, as those files carry them)."""
    pad = vocab_size - 1
    cfg = {
        "_name_or_path": "tarjim-fixture",
        "activation_dropout": 0.0,
        "activation_function": "swish",
        "architectures": ["MarianMTModel"],
        "attention_dropout": 0.0,
        "bad_words_ids": [[pad]],
        "bos_token_id": 0,
        "classifier_dropout": 0.0,
        "d_model": 512,
        "decoder_attention_heads": 8,
        "decoder_ffn_dim": 2048,
        "decoder_layerdrop": 0.0,
        "decoder_layers": 6,
        "decoder_start_token_id": pad,
        "decoder_vocab_size": vocab_size,
        "dropout": 0.1,
        "encoder_attention_heads": 8,
        "encoder_ffn_dim": 2048,
        "encoder_layerdrop": 0.0,
        "encoder_layers": 6,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "max_length": 512,
        "max_position_embeddings": 512,
        "model_type": "marian",
        "normalize_before": False,
        "normalize_embedding": False,
        "num_beams": 4,
        "num_hidden_layers": 6,
        "pad_token_id": pad,
        "scale_embedding": True,
        "share_encoder_decoder_embeddings": True,
        "static_position_embeddings": True,
        "transformers_version": "4.22.0.dev0",
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    cfg.update(arch)
    cfg["num_hidden_layers"] = cfg["encoder_layers"]
    return cfg


def generation_config(cfg: dict) -> dict:
    return {
        "bad_words_ids": cfg["bad_words_ids"],
        "bos_token_id": 0,
        "decoder_start_token_id": cfg["decoder_start_token_id"],
        "eos_token_id": cfg["eos_token_id"],
        "forced_eos_token_id": cfg["forced_eos_token_id"],
        "max_length": cfg["max_length"],
        "num_beams": cfg["num_beams"],
        "pad_token_id": cfg["pad_token_id"],
        "renormalize_logits": True,
        "transformers_version": "4.22.0.dev0",
    }


def tiny_config(vocab_size: int) -> dict:
    return hub_config(
        vocab_size,
        d_model=32,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_layers=3,
        decoder_attention_heads=2,
        decoder_ffn_dim=48,
        max_position_embeddings=TINY_MAX_POSITIONS,
        max_length=64,
    )


def hf_model(cfg: dict):
    import torch
    from transformers import MarianConfig, MarianMTModel

    config = MarianConfig(**{k: v for k, v in cfg.items() if not k.startswith("_")})
    torch.manual_seed(0)
    return MarianMTModel(config)


def train_tiny(model, vocab_size: int, steps: int = 1200) -> None:
    """Seeded training on a mapped-copy task: the target is the source with every
    id sent through a fixed permutation, dropping ids that map to the "deleted"
    class and doubling a few, then ``</s>``. Outputs depend on the input and end at
    varied lengths."""
    import torch

    pad = vocab_size - 1
    gen = torch.Generator().manual_seed(1234)
    content = torch.arange(2, pad)  # every piece id (not </s>, <unk>, <pad>)
    perm = content[torch.randperm(len(content), generator=gen)]
    mapping = torch.full((vocab_size,), pad)
    mapping[content] = perm
    role = torch.randint(0, 10, (vocab_size,), generator=gen)  # 0: drop, 1: double

    def batch(size: int):
        lengths = torch.randint(1, 16, (size,), generator=gen)
        srcs, tgts = [], []
        for n in lengths.tolist():
            src = content[torch.randint(0, len(content), (n,), generator=gen)]
            tgt = []
            for s in src.tolist():
                if role[s] == 0:
                    continue
                tgt += [mapping[s].item()] * (2 if role[s] == 1 else 1)
            srcs.append(src.tolist() + [0])
            tgts.append(tgt + [0])
        s_len = max(map(len, srcs))
        t_len = max(map(len, tgts))
        input_ids = torch.tensor([s + [pad] * (s_len - len(s)) for s in srcs])
        labels = torch.tensor([t + [-100] * (t_len - len(t)) for t in tgts])
        return input_ids, (input_ids != pad).long(), labels

    torch.manual_seed(0)
    torch.set_num_threads(1)  # reproducible sums, and no thread contention
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        input_ids, mask, labels = batch(48)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            # The tied LM head gives the <pad> row a gradient; keep it at zero.
            model.model.shared.weight[pad] = 0.0
        if step % 200 == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.3f}")
    model.eval()


# Tied or computed tensors `transformers` leaves out of new-layout saves.
DERIVED_KEYS = (
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
    "model.encoder.embed_positions.weight",
    "model.decoder.embed_positions.weight",
    "lm_head.weight",
)


def new_layout(model) -> dict:
    """``model.shared.weight``, the layers and ``final_logits_bias`` only."""
    return {
        k: v.detach().clone().contiguous()
        for k, v in model.state_dict().items()
        if k not in DERIVED_KEYS
    }


def old_layout(model) -> dict:
    """The older hub layout: every tied copy and both position tables stored too,
    the embedding copies sharing one storage as ``torch.save`` of a tied model wrote."""
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    shared = sd["model.shared.weight"]
    for key in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        sd[key] = shared
    for key in ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"):
        assert key in sd, key
    return sd


def save_checkpoint(dest: Path, cfg: dict, weights: dict, fmt: str) -> None:
    import torch
    from safetensors.torch import save_file

    copy_tokenizer_files(dest)
    write_json(dest / "config.json", cfg)
    write_json(dest / "generation_config.json", generation_config(cfg))
    for stale in ("model.safetensors", "pytorch_model.bin"):
        (dest / stale).unlink(missing_ok=True)
    if fmt == "safetensors":
        save_file(weights, str(dest / "model.safetensors"), metadata={"format": "pt"})
    elif fmt == "legacy":
        torch.save(weights, dest / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    else:
        torch.save(weights, dest / "pytorch_model.bin")


def load_hf(dest: Path):
    import torch
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(str(dest), attn_implementation="eager", dtype=torch.float32)
    return model.eval()


def tiny_inputs(tok) -> tuple[dict, dict]:
    """A padded source batch of mixed lengths and teacher-forced decoder inputs."""
    sources = [
        ARABIC_EXTRA[0],
        "سوريا",
        ARABIC_EXTRA[4] + " " + ARABIC_EXTRA[6],
        ARABIC_EXTRA[9],
    ]
    targets = [ENGLISH_TEXT[0], ENGLISH_TEXT[13], ENGLISH_TEXT[3], "Oil prices fell."]
    enc = tok(sources, padding=True, return_tensors="pt")
    labels = tok(text_target=targets, padding=True, return_tensors="pt")["input_ids"]
    return enc, labels


def gen_tiny() -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import MarianTokenizer

    vocab = json.loads((TINY / "vocab.json").read_text(encoding="utf-8"))
    cfg = tiny_config(len(vocab))
    model = hf_model(cfg)
    pad = cfg["pad_token_id"]
    with torch.no_grad():
        # The hub's opus-mt checkpoints keep the <pad> (decoder start) row at zero;
        # padding_idx keeps its gradient zero during training.
        model.model.shared.weight[pad] = 0.0
    train_tiny(model, len(vocab))
    assert torch.all(model.model.shared.weight[pad] == 0), "<pad> embedding row must stay zero"

    save_checkpoint(TINY, cfg, new_layout(model), "safetensors")
    save_checkpoint(TINY_BIN, cfg, old_layout(model), "bin")
    f16 = {k: v.half() for k, v in new_layout(model).items()}
    save_checkpoint(TINY_F16, cfg, f16, "safetensors")

    tok = MarianTokenizer.from_pretrained(str(TINY))
    enc, labels = tiny_inputs(tok)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)

    def logits(dest: Path, input_ids, mask, dec):
        with torch.no_grad():
            return load_hf(dest)(input_ids=input_ids, attention_mask=mask, decoder_input_ids=dec).logits

    ref = logits(TINY, enc["input_ids"], enc["attention_mask"], decoder_input_ids)
    ref_bin = logits(TINY_BIN, enc["input_ids"], enc["attention_mask"], decoder_input_ids)
    assert torch.equal(ref, ref_bin), "the .bin and .safetensors checkpoints differ"
    ref_f16 = logits(TINY_F16, enc["input_ids"], enc["attention_mask"], decoder_input_ids)
    print(f"  f16 vs f32 logits: max abs diff {(ref - ref_f16).abs().max().item():.4f}")
    for row, (ids, mask) in enumerate(zip(enc["input_ids"], enc["attention_mask"])):
        n = int(mask.sum())
        single = logits(TINY, ids[None, :n], mask[None, :n], decoder_input_ids[row : row + 1])
        diff = (single[0] - ref[row]).abs().max().item()
        assert diff < 1e-5, f"row {row}: padded batch differs from single by {diff}"

    with torch.no_grad():
        greedy = load_hf(TINY).generate(**enc, num_beams=1, do_sample=False)
        beams = load_hf(TINY).generate(**enc)
    lengths = [int((row != pad).sum()) for row in beams]
    print(f"  greedy lengths {[int((r != pad).sum()) for r in greedy]}, beam lengths {lengths}")
    assert len(set(lengths)) > 1, "beam outputs should end at varied lengths"

    REFERENCE.mkdir(parents=True, exist_ok=True)
    save_file(
        {"logits": ref.contiguous(), "logits_f16": ref_f16.contiguous()},
        str(REFERENCE / "tiny_logits.safetensors"),
    )
    write_json(
        REFERENCE / "tiny_reference.json",
        {
            "about": "HF MarianMTModel (eval, eager attention, float32) on tests/fixtures/tiny*; "
            "logits (batch, tgt_len, vocab) in tiny_logits.safetensors: 'logits' for the f32 "
            "checkpoints, 'logits_f16' for tiny-f16 upcast to f32. Regenerate with "
            "scripts/gen_model_fixtures.py.",
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "decoder_input_ids": decoder_input_ids.tolist(),
        },
    )


# ---------------------------------------------------------------------------
# 2b. PyTorch's legacy (pre-1.6, non-zip) serialization
# ---------------------------------------------------------------------------

TIED_EMBEDDINGS = ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight")


def hub_2020_layout(model):
    """The key layout of the hub's 2020 opus-mt ``pytorch_model.bin``: ``state_dict()``
    of a model whose LM head was the shared embedding itself: ``model.shared.weight``
    with both ``embed_tokens`` as the same tensor (one storage), both
    ``embed_positions``, ``final_logits_bias``, and no ``lm_head.weight``."""
    from collections import OrderedDict

    sd = model.state_dict()
    out = OrderedDict((k, v.detach()) for k, v in sd.items() if k != "lm_head.weight")
    out._metadata = sd._metadata
    for key in TIED_EMBEDDINGS:
        out[key] = out["model.shared.weight"]
    for key in ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"):
        assert key in out, key
    return out


def legacy_views() -> dict:
    """Tensors that exercise the legacy reader: shared storages, offsets, strides,
    f16 and bf16, a scalar, an empty tensor and a ``Parameter``."""
    from collections import OrderedDict

    import torch

    base = (torch.arange(24, dtype=torch.float32) * 0.37 - 3.0).reshape(4, 6)
    half = (torch.arange(12, dtype=torch.float32) / 7.0 - 0.5).to(torch.float16).reshape(3, 4)
    return OrderedDict(
        [
            ("base", base),
            ("rows", base[1:3]),  # offset 6, contiguous
            ("columns", base[:, 2:5]),  # offset 2, strides (6, 1)
            ("transposed", base.t()),  # strides (1, 6)
            ("every_other", base[1::2, ::3]),  # offset 6, strides (12, 3)
            ("scalar", torch.tensor(2.5)),
            ("empty", torch.zeros(0, 3)),
            ("half", half),
            ("half_view", half[1:, 1:].t()),
            ("bfloat16", (torch.arange(5, dtype=torch.float32) * 1.5 - 2.0).to(torch.bfloat16)),
            ("parameter", torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 4.0]]))),
        ]
    )


def gen_legacy() -> None:
    import torch

    # The committed tiny weights, re-saved (never retrained).
    model = load_hf(TINY)
    cfg = json.loads((TINY / "config.json").read_text(encoding="utf-8"))
    weights = hub_2020_layout(model)
    save_checkpoint(TINY_LEGACY, cfg, weights, "legacy")
    for name in ("config.json", "generation_config.json"):
        assert (TINY_LEGACY / name).read_bytes() == (TINY / name).read_bytes(), name
    raw = (TINY_LEGACY / "pytorch_model.bin").read_bytes()
    assert not raw.startswith(b"PK"), "expected the legacy format, not a zip archive"
    loaded = torch.load(TINY_LEGACY / "pytorch_model.bin", weights_only=True)
    ptrs = {loaded[k].untyped_storage().data_ptr() for k in ("model.shared.weight", *TIED_EMBEDDINGS)}
    assert len(ptrs) == 1, "the tied embeddings must share one storage"
    assert "lm_head.weight" not in loaded

    tok_inputs = json.loads((REFERENCE / "tiny_reference.json").read_text(encoding="utf-8"))
    args = {k: torch.tensor(tok_inputs[k]) for k in ("input_ids", "attention_mask", "decoder_input_ids")}
    with torch.no_grad():
        want = load_hf(TINY)(**args).logits
        got = load_hf(TINY_LEGACY)(**args).logits
    assert torch.equal(want, got), "the legacy checkpoint differs from tests/fixtures/tiny"
    print(f"  tiny-legacy: {len(raw)} bytes, {len(loaded)} tensors, logits equal tests/fixtures/tiny")

    LEGACY.mkdir(parents=True, exist_ok=True)
    views = legacy_views()
    torch.save(views, LEGACY / "views.bin", _use_new_zipfile_serialization=False)
    read = torch.load(LEGACY / "views.bin", weights_only=True)
    assert read["rows"].untyped_storage().data_ptr() == read["base"].untyped_storage().data_ptr()
    expected = {}
    for name, tensor in read.items():
        t = tensor.detach()
        expected[name] = {
            "dtype": str(t.dtype).removeprefix("torch."),
            "shape": list(t.shape),
            "storage_offset": t.storage_offset(),
            "stride": list(t.stride()),
            "values": t.float().flatten().tolist(),
        }
    write_json(
        LEGACY / "views.json",
        {
            "about": "What torch.load reads from views.bin (written by torch.save(..., "
            "_use_new_zipfile_serialization=False)): each tensor's dtype, shape, storage "
            "offset, strides and values in row-major order (as float). Regenerate with "
            "scripts/gen_model_fixtures.py --only legacy.",
            "tensors": expected,
        },
    )
    torch.save(
        {"positions": torch.arange(4, dtype=torch.int64)},
        LEGACY / "long.bin",
        _use_new_zipfile_serialization=False,
    )


# ---------------------------------------------------------------------------
# 3. Decoding references on the tiny model
# ---------------------------------------------------------------------------

DECODING = FIXTURES / "decoding"

# (name, generate() keyword arguments). Settings absent here come from the
# checkpoint's generation_config.json (beam 4, max_length 64, bad_words_ids
# [[pad]], forced_eos_token_id 0, renormalize_logits).
TINY_SETTINGS = [
    ("greedy", {"num_beams": 1}),
    ("greedy_max8", {"num_beams": 1, "max_length": 8}),
    ("beam_default", {}),
    ("beam2", {"num_beams": 2}),
    ("beam5", {"num_beams": 5}),
    ("beam4_max8", {"max_length": 8}),
    ("beam4_lp0.5", {"length_penalty": 0.5}),
    ("beam4_lp2", {"length_penalty": 2.0}),
    ("beam4_early", {"early_stopping": True}),
    ("beam3_never", {"num_beams": 3, "early_stopping": "never"}),
]


def tiny_sources() -> list[str]:
    article = [
        line.strip() for line in SEED_ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [
        ARABIC_EXTRA[0],
        "سوريا",
        article[1][:120],
        ARABIC_EXTRA[3] + " " + ARABIC_EXTRA[5],
        "بغداد",
        ARABIC_EXTRA[8],
        article[2][:60],
        ARABIC_EXTRA[11],
    ]


def gen_decoding() -> None:
    import torch
    from transformers import MarianTokenizer

    tok = MarianTokenizer.from_pretrained(str(TINY))
    model = load_hf(TINY)
    sources = tiny_sources()
    cases = []
    for name, kwargs in TINY_SETTINGS:
        # Two batches (first 5 and last 3 sources), each padded to its longest.
        for start, stop in ((0, 5), (5, len(sources))):
            enc = tok(sources[start:stop], padding=True, return_tensors="pt")
            with torch.no_grad():
                out = model.generate(
                    **enc, do_sample=False, return_dict_in_generate=True, output_scores=True, **kwargs
                )
            scores = out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None else None
            cases.append(
                {
                    "name": name,
                    "settings": kwargs,
                    "sources": sources[start:stop],
                    "input_ids": enc["input_ids"].tolist(),
                    "attention_mask": enc["attention_mask"].tolist(),
                    "sequences": out.sequences.tolist(),
                    "scores": scores,
                    "translations": tok.batch_decode(out.sequences, skip_special_tokens=True),
                }
            )
        lengths = [len([t for t in seq if t != tok.pad_token_id]) for c in cases[-2:] for seq in c["sequences"]]
        print(f"  {name}: output lengths {lengths}")
    DECODING.mkdir(parents=True, exist_ok=True)
    write_json(
        DECODING / "tiny_generate.json",
        {
            "about": "HF MarianMTModel.generate (transformers, eval, float32, eager attention) on "
            "tests/fixtures/tiny; 'settings' are the generate() arguments on top of the "
            "checkpoint's generation_config.json. Regenerate with scripts/gen_model_fixtures.py.",
            "cases": cases,
        },
    )


# ---------------------------------------------------------------------------
# 4. The exact-shape model with generated weights
# ---------------------------------------------------------------------------

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
EOS_LOGIT_BIAS = np.float32(2.5)
# Gains (times 1/sqrt(fan_in)) chosen so that random weights behave like a
# translation model rather than repeating one token: sharp attention (q/k), a
# feed-forward block strong enough that each step's output is a new function of
# the input token, position and source, and a </s> bias that ends hypotheses at
# varied lengths (some reach max_length).
EMBED_SCALE = 0.05
QK_GAIN = 4.0
CROSS_OUT_GAIN = 1.0
WEIGHT_GAIN = 1.0
FFN_GAIN = 3.0
# max_length of the exact-shape generation references (the hub's 512 would let
# some beams run 511 steps, too slow for a test).
EXACT_MAX_LENGTH = 48
EXACT_LINES = 100
EXACT_BATCH = 10
EXACT_LOGIT_COLUMNS = 256


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def uniform(name: str, n: int) -> np.ndarray:
    """Twin of ``tarjim::model::generated::uniform``: splitmix64 of
    ``fnv1a64(name) + (i + 1) * golden`` mapped to [-1, 1) exactly in f32."""
    with np.errstate(over="ignore"):
        state = np.uint64(fnv1a64(name.encode())) + (np.arange(1, n + 1, dtype=np.uint64) * GOLDEN_GAMMA)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.float32)
    return top * np.float32(1.0 / 8388608.0) - np.float32(1.0)


# With "relu" (transformer-big) the gains above give outputs that repeat one
# token: ReLU's outputs have a large common mean, which fc2 turns into the same
# vector at every step. ReLU models take fc1 biases shifted by -1.5 (sparser
# activations with a smaller common part), a stronger feed-forward block and a
# </s> bias that lets greedy outputs end early, at max_length, or at once.
RELU_FC1_BIAS_OFFSET = -1.5
RELU_FFN_GAIN = 6.0
RELU_EOS_LOGIT_BIAS = np.float32(3.0)


def generated_tensor(name: str, shape: tuple, pad: int, eos: int, relu: bool = False) -> np.ndarray:
    """Twin of ``tarjim::model::generated::tensor_values``; ``relu``: the
    model's activation is ReLU (``Gains::for_activation``)."""
    n = int(np.prod(shape))
    ffn_gain = RELU_FFN_GAIN if relu else FFN_GAIN
    eos_bias = RELU_EOS_LOGIT_BIAS if relu else EOS_LOGIT_BIAS

    def scaled(scale, offset) -> np.ndarray:
        return uniform(name, n) * np.float32(scale) + np.float32(offset)

    def fan_in(gain: float) -> np.float32:
        assert len(shape) == 2, name
        return np.float32(gain / np.sqrt(np.float64(shape[1])))

    if name == "model.shared.weight":
        values = scaled(EMBED_SCALE, 0.0).reshape(shape)
        values[pad] = 0.0
    elif name == "final_logits_bias":
        values = scaled(0.1, 0.0)
        values[eos] = eos_bias
    elif name.endswith("layer_norm.weight"):
        values = scaled(0.1, 1.0)
    elif name.endswith("layer_norm.bias"):
        values = scaled(0.1, 0.0)
    elif name.endswith("fc1.bias") and relu:
        values = scaled(0.05, RELU_FC1_BIAS_OFFSET)
    elif name.endswith(".bias"):
        values = scaled(0.05, 0.0)
    elif name.endswith("encoder_attn.out_proj.weight"):
        values = scaled(fan_in(CROSS_OUT_GAIN), 0.0)
    elif name.endswith("q_proj.weight") or name.endswith("k_proj.weight"):
        values = scaled(fan_in(QK_GAIN), 0.0)
    elif name.endswith("fc1.weight") or name.endswith("fc2.weight"):
        values = scaled(fan_in(ffn_gain), 0.0)
    elif name.endswith(".weight"):
        values = scaled(fan_in(WEIGHT_GAIN), 0.0)
    else:
        raise KeyError(name)
    return values.reshape(shape).astype(np.float32)


def exact_shape_model():
    """opus-mt-ar-en's shapes (vocab 62834, pad = start = 62833, eos 0, 6 + 6
    layers, d_model 512, 8 heads, ffn 2048) with generated weights."""
    cfg = hub_config(62834)
    return generated_hf_model(cfg), cfg


def generated_hf_model(cfg: dict):
    """A ``MarianMTModel`` of ``cfg``'s shapes with every tensor from
    ``generated_tensor`` (the Rust twin: ``tarjim::model::generated::generated_model``)."""
    import torch

    model = hf_model(cfg)
    pad, eos = cfg["pad_token_id"], cfg["eos_token_id"]
    relu = cfg["activation_function"] == "relu"
    state = model.state_dict()
    with torch.no_grad():
        for name in state:
            if name in DERIVED_KEYS:
                continue
            values = generated_tensor(name, tuple(state[name].shape), pad, eos, relu)
            state[name].copy_(torch.from_numpy(values))
    model.eval()
    assert torch.equal(model.lm_head.weight, model.model.shared.weight), "lm_head must stay tied"
    return model


def gen_exact() -> None:
    import torch
    from transformers import GenerationConfig, MarianTokenizer

    sys_path = Path(__file__).resolve().parent
    import sys

    sys.path.insert(0, str(sys_path))
    from gen_tokenizer_fixtures import AR_FR_SPM, AR_FR_VOCAB

    tmp = Path(tempfile.mkdtemp(prefix="tarjim-exact-"))
    for src in (AR_FR_SPM / "source.spm", AR_FR_SPM / "target.spm", AR_FR_VOCAB / "vocab.json", AR_FR_VOCAB / "tokenizer_config.json"):
        shutil.copyfile(src, tmp / src.name)
    tok = MarianTokenizer.from_pretrained(str(tmp))
    lines = FLORES_AR.read_text(encoding="utf-8").splitlines()[:EXACT_LINES]

    torch.set_num_threads(2)
    model, cfg = exact_shape_model()
    gen_json = generation_config(cfg)
    gen_json["max_length"] = EXACT_MAX_LENGTH
    greedy_cfg = GenerationConfig(**{**gen_json, "num_beams": 1})
    beam_cfg = GenerationConfig(**gen_json, return_dict_in_generate=True, output_scores=True)
    rows = []
    for start in range(0, len(lines), EXACT_BATCH):
        batch = lines[start : start + EXACT_BATCH]
        enc = tok(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            greedy = model.generate(**enc, generation_config=greedy_cfg)
            beam = model.generate(**enc, generation_config=beam_cfg)
        for i, line in enumerate(batch):
            n = int(enc["attention_mask"][i].sum())
            rows.append(
                {
                    "line": start + i,
                    "input_ids": enc["input_ids"][i, :n].tolist(),
                    "greedy": [t for t in greedy[i].tolist()],
                    "beam4": [t for t in beam.sequences[i].tolist()],
                    "beam4_score": beam.sequences_scores[i].item(),
                }
            )
        print(f"  exact shape: lines {start}..{start + len(batch)}, beam lengths "
              f"{[int((s != cfg['pad_token_id']).sum()) for s in beam.sequences]}")

    # Teacher-forced logits at fixed columns for a few lines: the beam output as target.
    gen = np.random.default_rng(7)
    columns = sorted(gen.choice(cfg["vocab_size"], EXACT_LOGIT_COLUMNS, replace=False).tolist())
    forced = []
    for row in rows[:4]:
        target = [t for t in row["beam4"] if t != cfg["pad_token_id"]]
        dec = [cfg["decoder_start_token_id"]] + target[:-1] if target else [cfg["decoder_start_token_id"]]
        with torch.no_grad():
            logits = model(
                input_ids=torch.tensor([row["input_ids"]]), decoder_input_ids=torch.tensor([dec])
            ).logits[0]
        forced.append(
            {
                "line": row["line"],
                "decoder_input_ids": dec,
                "logits": logits[:, columns].tolist(),
                "argmax": logits.argmax(-1).tolist(),
            }
        )
    DECODING.mkdir(parents=True, exist_ok=True)
    write_json(
        DECODING / "exact_shape.json",
        {
            "about": "HF MarianMTModel (float32, eager) of opus-mt-ar-en's exact shape with "
            "weights generated by the formula in scripts/gen_model_fixtures.py and "
            "src/model/generated.rs; inputs: the first FLORES devtest Arabic lines tokenized "
            "with the real opus-mt-ar-fr source.spm and tests/fixtures/ar-fr-vocab; outputs: "
            "generate() with the checkpoint's generation config (greedy: num_beams=1), and "
            "teacher-forced logits at 'columns'.",
            "generation_config": gen_json,
            "columns": columns,
            "rows": rows,
            "teacher_forced": forced,
        },
    )


# ---------------------------------------------------------------------------
# 4b. The transformer-big shape of opus-mt-tc-big-ar-en, generated weights
# ---------------------------------------------------------------------------

# Helsinki-NLP/opus-mt-tc-big-ar-en (Marian transformer-big, converted 2022 from
# Tatoeba-MT-models/ara-eng/opusTCv20210807+bt_transformer-big_2022-03-09).
# Sources of each value:
# * config.json, as the hub renders it for SaeedMLK/opus-mt-tc-big-ar-en (a
#   fine-tune that keeps the base model's config; the Helsinki-NLP file itself
#   was not readable from here): d_model 1024, 16 + 16 heads, ffn 4096 + 4096,
#   "relu", 6 + 6 layers, max_position_embeddings 1024, vocab_size =
#   decoder_vocab_size = 61109, share_encoder_decoder_embeddings true,
#   scale_embedding true, normalize_embedding false, static_position_embeddings
#   true, pad = decoder_start = 61108, eos = forced_eos = 25894, bad_words_ids
#   [[61108]], num_beams 4, max_length 512. No normalize_before: transformers'
#   Marian is post-norm whatever a config says.
# * generation_config.json of the hub copy aghorbani/opus-mt-tc-big-ar-en
#   ("Update checkpoint for transformers>=4.29"): the same ids, num_beams 4,
#   max_length 512, renormalize_logits true (the hub's refs/pr/6 of the Helsinki
#   repo sets renormalize_logits as well).
# * tokenizer_config.json (Helsinki-NLP repo, refs/pr/7): separate_vocabs false,
#   one joint vocab.json.
# * The repo's file listing: pytorch_model.bin of 603 MB holding float16
#   storages (torch.HalfStorage), tf_model.h5; model.safetensors (603 MB) only
#   on refs/pr/6.
# Unlike the 2020 opus-mt models, </s> is not id 0: eos is 25894.
BIG_VOCAB = 61109
BIG_EOS = 25894
# A few lines, short outputs: the Rust test builds a 239M-parameter model.
BIG_LINES = 6
BIG_MAX_LENGTH = 20
BIG_LOGIT_LINES = 2


def big_shape_config() -> dict:
    return hub_config(
        BIG_VOCAB,
        d_model=1024,
        encoder_attention_heads=16,
        decoder_attention_heads=16,
        encoder_ffn_dim=4096,
        decoder_ffn_dim=4096,
        activation_function="relu",
        max_position_embeddings=1024,
        eos_token_id=BIG_EOS,
        forced_eos_token_id=BIG_EOS,
    )


def big_shape_model():
    """opus-mt-tc-big-ar-en's shapes with generated weights (Rust twin:
    ``tarjim::model::generated::big_shape_model``)."""
    cfg = big_shape_config()
    return generated_hf_model(cfg), cfg


def to_big_ids(ids: list[int], ar_fr_pad: int) -> list[int]:
    """ar-fr ids in the tc-big vocabulary's places of the special tokens: </s>
    (0 in ar-fr) and the piece at 25894 change places, <pad> moves to 61108."""
    swap = {0: BIG_EOS, BIG_EOS: 0, ar_fr_pad: BIG_VOCAB - 1}
    return [swap.get(i, i) for i in ids]


def gen_big() -> None:
    import torch
    from transformers import GenerationConfig, MarianTokenizer

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gen_tokenizer_fixtures import AR_FR_SPM, AR_FR_VOCAB

    tmp = Path(tempfile.mkdtemp(prefix="tarjim-big-"))
    for src in (AR_FR_SPM / "source.spm", AR_FR_SPM / "target.spm", AR_FR_VOCAB / "vocab.json", AR_FR_VOCAB / "tokenizer_config.json"):
        shutil.copyfile(src, tmp / src.name)
    tok = MarianTokenizer.from_pretrained(str(tmp))
    assert tok.eos_token_id == 0 and len(tok) <= BIG_VOCAB
    lines = FLORES_AR.read_text(encoding="utf-8").splitlines()[:BIG_LINES]

    torch.set_num_threads(2)
    model, cfg = big_shape_model()
    pad = cfg["pad_token_id"]
    gen_json = generation_config(cfg)
    gen_json["max_length"] = BIG_MAX_LENGTH
    greedy_cfg = GenerationConfig(**{**gen_json, "num_beams": 1})
    beam_cfg = GenerationConfig(**gen_json, return_dict_in_generate=True, output_scores=True)
    enc = tok(lines, padding=True, return_tensors="pt")
    input_ids = torch.tensor([to_big_ids(row, tok.pad_token_id) for row in enc["input_ids"].tolist()])
    assert all(row[int(m.sum()) - 1] == BIG_EOS for row, m in zip(input_ids.tolist(), enc["attention_mask"]))
    with torch.no_grad():
        greedy = model.generate(input_ids=input_ids, attention_mask=enc["attention_mask"], generation_config=greedy_cfg)
        beam = model.generate(input_ids=input_ids, attention_mask=enc["attention_mask"], generation_config=beam_cfg)
    rows = []
    for i in range(len(lines)):
        n = int(enc["attention_mask"][i].sum())
        rows.append(
            {
                "line": i,
                "input_ids": input_ids[i, :n].tolist(),
                "greedy": greedy[i].tolist(),
                "beam4": beam.sequences[i].tolist(),
                "beam4_score": beam.sequences_scores[i].item(),
            }
        )
    print(f"  big shape: greedy lengths {[int((s != pad).sum()) for s in greedy]}, "
          f"beam lengths {[int((s != pad).sum()) for s in beam.sequences]}")
    print(f"  big shape: greedy {[r['greedy'] for r in rows]}")

    gen = np.random.default_rng(7)
    columns = sorted(set(gen.choice(BIG_VOCAB, EXACT_LOGIT_COLUMNS, replace=False).tolist()) | {BIG_EOS})
    forced = []
    for row in rows[:BIG_LOGIT_LINES]:
        target = [t for t in row["beam4"][1:] if t != pad]
        dec = [cfg["decoder_start_token_id"]] + target[:-1]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([row["input_ids"]]), decoder_input_ids=torch.tensor([dec])).logits[0]
        forced.append(
            {
                "line": row["line"],
                "decoder_input_ids": dec,
                "logits": logits[:, columns].tolist(),
                "argmax": logits.argmax(-1).tolist(),
            }
        )
    DECODING.mkdir(parents=True, exist_ok=True)
    write_json(
        DECODING / "exact_big.json",
        {
            "about": "HF MarianMTModel (float32, eager) of opus-mt-tc-big-ar-en's exact shape "
            "(transformer-big: d_model 1024, 16 heads, ffn 4096, relu, 1024 positions, vocab "
            "61109, eos 25894) with weights generated by the formula in "
            "scripts/gen_model_fixtures.py and src/model/generated.rs; inputs: the first FLORES "
            "devtest Arabic lines tokenized with the real opus-mt-ar-fr source.spm and "
            "tests/fixtures/ar-fr-vocab, </s> moved to id 25894; outputs: generate() with the "
            "checkpoint's generation config (greedy: num_beams=1), and teacher-forced logits at "
            "'columns'. Regenerate with scripts/gen_model_fixtures.py --only big.",
            "generation_config": gen_json,
            "columns": columns,
            "rows": rows,
            "teacher_forced": forced,
        },
    )


# ---------------------------------------------------------------------------
# 5. Cross-attention probabilities of the tiny model (word alignment)
# ---------------------------------------------------------------------------

ALIGN = FIXTURES / "align"


def gen_attention() -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import MarianTokenizer

    tok = MarianTokenizer.from_pretrained(str(TINY))
    model = load_hf(TINY)
    enc, labels = tiny_inputs(tok)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)
    with torch.no_grad():
        out = model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            decoder_input_ids=decoder_input_ids,
            output_attentions=True,
        )
    # (layers, batch, heads, tgt_len, src_len)
    cross = torch.stack(out.cross_attentions)
    print(f"  cross attentions {tuple(cross.shape)}")
    ALIGN.mkdir(parents=True, exist_ok=True)
    save_file({"cross_attentions": cross.contiguous()}, str(ALIGN / "tiny_cross_attentions.safetensors"))
    write_json(
        ALIGN / "tiny_attention.json",
        {
            "about": "HF MarianMTModel (eval, eager attention, float32) on tests/fixtures/tiny, "
            "teacher-forced with output_attentions=True; tiny_cross_attentions.safetensors holds "
            "'cross_attentions' (decoder_layers, batch, heads, tgt_len, src_len), the softmax "
            "probabilities of every decoder layer's encoder attention. Regenerate with "
            "scripts/gen_model_fixtures.py --only attention.",
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "decoder_input_ids": decoder_input_ids.tolist(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["tokenizer", "tiny", "legacy", "decoding", "exact", "big", "attention"])
    args = parser.parse_args()
    if args.only in (None, "tokenizer"):
        gen_tokenizer()
    if args.only in (None, "tiny"):
        gen_tiny()
    if args.only in (None, "legacy"):
        gen_legacy()
    if args.only in (None, "decoding"):
        gen_decoding()
    if args.only in (None, "exact"):
        gen_exact()
    if args.only in (None, "big"):
        gen_big()
    if args.only in (None, "attention"):
        gen_attention()


if __name__ == "__main__":
    main()
