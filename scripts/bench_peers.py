#!/usr/bin/env python3
"""tarjim against HF transformers (PyTorch, CPU) and CTranslate2 on the same
machine, in the same run, on the same inputs and settings.

    python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt -r scripts/requirements-bench.txt
    cargo build --release
    .venv/bin/python scripts/bench_peers.py [--shape base|big] [--lines N] [--quick]
    .venv/bin/python scripts/bench_peers.py --quality 200

The model is the exact-shape opus-mt-ar-en model (``--shape base``) or the
transformer-big opus-mt-tc-big-ar-en model (``--shape big``) with generated
weights from ``scripts/gen_model_fixtures.py`` (no trained checkpoint reaches
these machines; compute does not depend on the weights' values), saved as a
float32 Hugging Face checkpoint (``model.safetensors``) with the real Helsinki
Arabic SentencePiece models, and converted for CTranslate2 with its
Transformers converter (float32 and int8). Checkpoints are written once under
``--work`` (default ``target/bench-peers``; the big shape takes about 2.3 GB).
Inputs: the first FLORES devtest Arabic lines. Generation: the hub's opus-mt
settings with ``max_length`` 48 (as the parity fixtures), greedy and beam 4.

Every measurement runs in a fresh process so that peak RSS is its own. Printed
per system: model load time, sentences/s, target tokens/s, peak RSS and its
ratio to the size of ``model.safetensors``, the ratio of its sentences/s and of
its tokens/s to tarjim's, and how many outputs equal tarjim's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLORES_AR = ROOT / "data/eval/flores200-devtest/arb_Arab.txt"
AR_FR = ROOT / "data/spm/opus-mt-ar-fr"
AR_FR_VOCAB = ROOT / "tests/fixtures/ar-fr-vocab"
TARJIM = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "tarjim"
# Outputs longer than this are cut (as the parity fixtures).
MAX_LENGTH = 48


def model_dir(args) -> Path:
    return Path(args.work) / ("exact-shape" if args.shape == "base" else "big-shape")


def ct2_dir(args, precision: str) -> Path:
    name = "ct2-int8" if precision == "int8" else "ct2-float32"
    return Path(args.work) / (name if args.shape == "base" else f"big-{name}")


def prepare(args) -> None:
    """Writes the checkpoint of ``args.shape`` and its CTranslate2 conversions once."""
    model_path = model_dir(args)
    if (model_path / "model.safetensors").exists() and (ct2_dir(args, "int8") / "model.bin").exists():
        return
    sys.path.insert(0, str(ROOT / "scripts"))
    import ctranslate2
    import gen_model_fixtures as fixtures

    model_path.parent.mkdir(parents=True, exist_ok=True)
    model, cfg = fixtures.exact_shape_model() if args.shape == "base" else fixtures.big_shape_model()
    model.save_pretrained(str(model_path), safe_serialization=True)
    for src in (AR_FR / "source.spm", AR_FR / "target.spm", AR_FR_VOCAB / "tokenizer_config.json"):
        shutil.copyfile(src, model_path / src.name)
    # The real ar-fr pieces, then unused slots up to the model's vocabulary, with
    # <pad> last as in the hub's opus-mt files (CTranslate2 checks the size).
    vocab = json.loads((AR_FR_VOCAB / "vocab.json").read_text(encoding="utf-8"))
    pad, eos = cfg["pad_token_id"], cfg["eos_token_id"]
    vocab = {piece: i for piece, i in vocab.items() if piece != "<pad>"}
    assert sorted(vocab.values()) == list(range(len(vocab)))
    vocab.update({f"<unused{i}>": i for i in range(len(vocab), pad)})
    vocab["<pad>"] = pad
    if eos != vocab["</s>"]:
        # tc-big's </s> is not 0: swap it with the piece in its place.
        (other,) = [piece for piece, i in vocab.items() if i == eos]
        vocab[other], vocab["</s>"] = vocab["</s>"], eos
    (model_path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    gen = fixtures.generation_config(cfg)
    gen["max_length"] = MAX_LENGTH
    (model_path / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    for quantization in ("float32", "int8"):
        converter = ctranslate2.converters.TransformersConverter(str(model_path))
        converter.convert(str(ct2_dir(args, quantization)), quantization=quantization, force=True)


def lines(n: int) -> list[str]:
    return FLORES_AR.read_text(encoding="utf-8").splitlines()[:n]


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def run_hf(args) -> dict:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    tok = MarianTokenizer.from_pretrained(str(model_dir(args)))
    model = MarianMTModel.from_pretrained(str(model_dir(args)), attn_implementation="eager").eval()
    if args.precision == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    load = time.perf_counter() - start
    texts = lines(args.lines)
    outputs, tokens = [], 0
    start = time.perf_counter()
    for first in range(0, len(texts), args.batch):
        enc = tok(texts[first : first + args.batch], padding=True, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**enc, num_beams=args.beam, do_sample=False)
        for row in out.tolist():
            ids = [t for t in row[1:] if t != model.config.pad_token_id]
            tokens += len(ids)
            outputs.append(tok.decode(ids, skip_special_tokens=True))
    seconds = time.perf_counter() - start
    return {"load": load, "seconds": seconds, "tokens": tokens, "outputs": outputs, "rss": peak_rss_mib(resource.RUSAGE_SELF)}


def run_ct2(args) -> dict:
    import ctranslate2
    from transformers import MarianTokenizer

    start = time.perf_counter()
    tok = MarianTokenizer.from_pretrained(str(model_dir(args)))
    compute = "int8_float32" if args.precision == "int8" else "float32"
    translator = ctranslate2.Translator(
        str(ct2_dir(args, args.precision)),
        device="cpu",
        compute_type=compute,
        inter_threads=1,
        intra_threads=args.threads,
    )
    load = time.perf_counter() - start
    texts = lines(args.lines)
    sources = [tok.convert_ids_to_tokens(tok(t)["input_ids"]) for t in texts]
    start = time.perf_counter()
    results = translator.translate_batch(
        sources,
        beam_size=args.beam,
        max_batch_size=args.batch,
        batch_type="examples",
        max_decoding_length=MAX_LENGTH - 1,
    )
    seconds = time.perf_counter() - start
    outputs, tokens = [], 0
    for r in results:
        hyp = r.hypotheses[0]
        tokens += len(hyp) + (1 if len(hyp) < MAX_LENGTH - 1 else 0)
        outputs.append(tok.decode(tok.convert_tokens_to_ids(hyp), skip_special_tokens=True))
    return {"load": load, "seconds": seconds, "tokens": tokens, "outputs": outputs, "rss": peak_rss_mib(resource.RUSAGE_SELF)}


def run_tarjim(args) -> dict:
    common = [str(TARJIM), "translate", "--model", str(model_dir(args)), "--glossary-mode", "off", "--beam", str(args.beam)]
    common += ["--batch-size", str(args.batch), "--threads", str(args.threads), "--format", "jsonl"]
    common += ["--precision", args.precision]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    start = time.perf_counter()
    subprocess.run(common, input=b"", check=True, env=env, capture_output=True)
    load = time.perf_counter() - start
    text = "\n".join(lines(args.lines)) + "\n"
    start = time.perf_counter()
    done = subprocess.run(common, input=text.encode(), check=True, env=env, capture_output=True)
    seconds = time.perf_counter() - start - load
    rows = [json.loads(l) for l in done.stdout.decode().splitlines()]
    return {
        "load": load,
        "seconds": seconds,
        "tokens": sum(r.get("target_tokens", 0) for r in rows),
        "outputs": [r.get("translation", "") for r in rows],
        "rss": peak_rss_mib(resource.RUSAGE_CHILDREN),
    }


def worker(args) -> None:
    result = {"hf": run_hf, "ct2": run_ct2, "tarjim": run_tarjim}[args.worker](args)
    print(json.dumps(result, ensure_ascii=False))


def measure(args, system: str, beam: int, batch: int, threads: int, precision: str, n: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", system, "--beam", str(beam), "--batch", str(batch)]
    cmd += ["--threads", str(threads), "--precision", precision, "--lines", str(n)]
    cmd += ["--shape", args.shape, "--work", str(args.work)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    out = subprocess.run(cmd, check=True, capture_output=True, env=env)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=["hf", "ct2", "tarjim"])
    parser.add_argument("--shape", choices=["base", "big"], default="base", help="opus-mt-ar-en or opus-mt-tc-big-ar-en")
    parser.add_argument("--work", default=str(ROOT / "target" / "bench-peers"), help="where checkpoints are written")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["f32", "int8"], default="f32")
    parser.add_argument("--lines", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="only --beam, --batch and --threads (default 4, 32, 2)")
    parser.add_argument("--quality", type=int, metavar="N", help="chrF of int8 against f32 outputs on N lines")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if not TARJIM.exists():
        sys.exit(f"{TARJIM} is missing: run `cargo build --release` first")
    prepare(args)
    if args.quality:
        quality(args, args.quality)
        return
    grid = [(args.beam, args.batch, args.threads)] if args.quick else [(b, n, t) for b in (1, 4) for n in (1, 32) for t in (1, 2)]
    name = "exact-shape opus-mt-ar-en" if args.shape == "base" else "transformer-big opus-mt-tc-big-ar-en"
    weights = (model_dir(args) / "model.safetensors").stat().st_size / 2**20
    print(f"{args.lines} FLORES devtest lines, {name} model (generated weights), max_length {MAX_LENGTH}")
    print(f"model.safetensors (float32): {weights:.0f} MiB")
    header = (
        f"{'search':<7} {'batch':>5} {'thr':>3} {'prec':<5} {'system':<13} {'load s':>7} {'sent/s':>8} {'tok/s':>8} "
        f"{'RSS MiB':>8} {'RSS/wts':>7} {'vs tarjim':>9} {'tok vs':>7} {'same':>5}"
    )
    print(header)
    for beam, batch, threads in grid:
        f32_outputs = None
        for precision in ("f32", "int8"):
            # "vs tarjim": sentences/s against tarjim at the same precision;
            # "same": outputs equal to tarjim f32's.
            results = {s: measure(args, s, beam, batch, threads, precision, args.lines) for s in ("tarjim", "ct2", "hf")}
            base = results["tarjim"]
            if f32_outputs is None:
                f32_outputs = base["outputs"]
            for system, r in results.items():
                rate = args.lines / r["seconds"]
                same = sum(a == b for a, b in zip(r["outputs"], f32_outputs))
                print(
                    f"{'greedy' if beam == 1 else f'beam{beam}':<7} {batch:>5} {threads:>3} {precision:<5} {system:<13} "
                    f"{r['load']:>7.2f} {rate:>8.2f} {r['tokens'] / r['seconds']:>8.1f} {r['rss']:>8.0f} "
                    f"{r['rss'] / weights:>7.2f} {rate / (args.lines / base['seconds']):>8.2f}x "
                    f"{(r['tokens'] / r['seconds']) / (base['tokens'] / base['seconds']):>6.2f}x {same:>5}",
                    flush=True,
                )


def quality(args, n: int) -> None:
    """chrF of each system's int8 outputs against its own f32 outputs (beam 4,
    batch 32, 2 threads) on the first `n` FLORES lines: what int8 costs.
    With generated weights this measures agreement, not translation quality."""
    from sacrebleu.metrics import CHRF

    print(f"{n} FLORES devtest lines, beam 4: chrF of int8 outputs against the same system's f32 outputs")
    for system in ("tarjim", "ct2", "hf"):
        f32 = measure(args, system, 4, 32, 2, "f32", n)["outputs"]
        int8 = measure(args, system, 4, 32, 2, "int8", n)["outputs"]
        score = CHRF().corpus_score(int8, [f32]).score
        same = sum(a == b for a, b in zip(int8, f32))
        print(f"{system:<8} chrF {score:6.2f}  identical {same}/{n}", flush=True)


if __name__ == "__main__":
    main()
