"""Speed and memory figures, each beside its baseline in the same run: `python benchmarks/run.py --json`.

Uses the bundled demo model when it is installed, else the `demo` preset with random weights
(speed does not depend on the weights: generation length is fixed with max_new_tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

QUESTIONS = [
    "How many objects are there, and what are they?",
    "Which of them are to the left of the blue ring?",
    "Which one of those could hold tea?",
    "Segment the part you hold.",
]
NEW_TOKENS = 16
TRAIN_BATCH = 16  # the demo recipe's stage-2 batch


def demo_model():
    from miras.checkpoint import BUNDLED, WEIGHTS_FILE, build, load

    if (BUNDLED / "demo" / WEIGHTS_FILE).exists():
        return load("demo"), "bundled demo weights"
    return build("demo").eval(), "demo preset, random weights"


def scene() -> np.ndarray:
    from miras.synth import generate_sample

    image, _, _ = generate_sample(np.random.default_rng(0), "base", 128)
    return image


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _timed_send(chat, text: str) -> tuple[float, float]:
    """(ms to the first generated token, ms for the whole turn)."""
    start = time.perf_counter()
    first: list[float] = []
    chat.send(text, on_text=lambda _: first or first.append(time.perf_counter()))
    end = time.perf_counter()
    return ((first[0] if first else end) - start) * 1000, (end - start) * 1000


def turn_figures(model, image, repeats: int) -> dict:
    """The last turn of a 4-turn chat: kept features and KV cache vs recomputing everything.

    The baseline is what the authors' chat does on every turn: encode the image again and re-read
    the whole history (here: a fresh chat whose one message is as long as that history).
    """
    history = " ".join(QUESTIONS[:-1] + ["an answer of about sixteen tokens, as the model gives"] * 3)
    cached, fresh = [], []
    for _ in range(repeats):
        chat = model.chat(image, max_new_tokens=NEW_TOKENS)
        for q in QUESTIONS[:-1]:
            chat.send(q)
        cached.append(_timed_send(chat, QUESTIONS[-1]))
        fresh.append(_timed_send(model.chat(image, max_new_tokens=NEW_TOKENS), history + " " + QUESTIONS[-1]))
    c_first, c_turn = (statistics.median(x) for x in zip(*cached))
    f_first, f_turn = (statistics.median(x) for x in zip(*fresh))
    return {
        "turn_ms_cached": c_turn, "turn_ms_fresh": f_turn, "turn_speedup_from_cache": f_turn / c_turn,
        "first_token_ms_cached": c_first, "first_token_ms_fresh": f_first,
        "first_token_speedup_from_cache": f_first / c_first,
    }


def train_figures(model, repeats: int, compile: bool = False, batch: int = TRAIN_BATCH) -> dict:
    """A stage-2 step of `batch` items on cached features vs the full forward, both with backward
    and AdamW, on the model's device; with `compile`, both as `miras train --compile` runs them
    (keys end in `_compiled`)."""
    from miras.batch import collate, make_example
    from miras.synth import generate
    from miras.trainable import apply_policy
    from miras.training.compiled import compiled
    from miras.training.data import PristSource
    from miras.training.feature_cache import CachedBatch, FeatureCache
    from miras.training.loop import make_optimizer
    from miras.training.settings import TrainSettings

    apply_policy(model, "paper")
    model.train()
    with tempfile.TemporaryDirectory() as tmp:
        source = PristSource(generate(Path(tmp) / "data", batch, seed=5, size=128), stage=2)
        items = [source.item(i) for i in range(batch)]
        cache = FeatureCache(Path(tmp) / "cache", model, source.signature())
        cached_batch = CachedBatch([cache.get(it).to(model.device) for it in items])
        # The optimizer the training loop uses, for both: the baseline is the full forward, not a slower update.
        optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], TrainSettings(lr=1e-5))

        def step(batch_fn) -> None:
            optimizer.zero_grad()
            model(batch_fn()).loss.backward()
            optimizer.step()
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)  # time the work, not its launch

        def full() -> None:
            step(lambda: collate([make_example(model, i.image, i.turns, i.masks) for i in items]))

        def cached() -> None:
            step(lambda: cached_batch)

        with compiled(model, compile):
            # Interleaved after a warm-up (for `compile`, compiling), so a machine that speeds up
            # or slows down mid-run moves both figures alike.
            full(), cached()
            full_times, cached_times = [], []
            for _ in range(repeats):
                full_times.append(_median_ms(full, 1))
                cached_times.append(_median_ms(cached, 3))
        full_ms, cached_ms = statistics.median(full_times), statistics.median(cached_times)
    model.eval()
    suffix = "_compiled" if compile else ""
    return {f"train_step_ms_full{suffix}": full_ms, f"train_step_ms_cached{suffix}": cached_ms,
            f"train_speedup_from_feature_cache{suffix}": full_ms / cached_ms, "train_batch": batch}


@torch.no_grad()
def decoder_figures(model, repeats: int) -> dict:
    from miras.modeling.sam import decode_masks

    sam = model.sam
    grid = model.config.sam.embedding_size
    embedding = torch.randn(1, model.config.sam.prompt_dim, grid, grid)
    prompt = torch.randn(1, model.config.sam.prompt_dim)
    decode_masks(sam, embedding, prompt)
    return {"decoder_ms": _median_ms(lambda: decode_masks(sam, embedding, prompt), repeats * 5)}


def store_figures(repeats: int) -> dict:
    import active_learning as al

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = al.open_store(Path(tmp) / "s.zarr")

        def write() -> None:
            image = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
            store.add_sample(image=image, dialogue=[{"from": "human", "value": "q"}], focus="x",
                             proposal=image[..., 0] > 128, model_version="v0001", score=0.5)

        return {"store_write_ms_p50": _median_ms(write, repeats * 4)}


def peak_rss_mb(probe: str) -> float:
    out = subprocess.run([sys.executable, __file__, "--probe", probe], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def process_peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_probe(probe: str) -> None:
    """Runs in a child process; the peak is reset after imports and model loading (Linux), so it
    is the peak of the chat or the training itself, model weights included."""
    model, _ = demo_model()
    image = scene()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    if probe == "chat":
        chat = model.chat(image, max_new_tokens=NEW_TOKENS)
        for q in QUESTIONS:
            chat.send(q)
    else:
        train_figures(model, repeats=1)
    print(process_peak_rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--probe", choices=("chat", "train"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        run_probe(args.probe)
        return
    torch.manual_seed(0)
    model, weights = demo_model()
    image = scene()
    figures = {"model": weights, "threads": torch.get_num_threads(), "new_tokens": NEW_TOKENS}
    figures |= turn_figures(model, image, args.repeats)
    figures |= decoder_figures(model, args.repeats)
    figures |= train_figures(model, args.repeats)
    figures |= train_figures(model, args.repeats, compile=True)
    figures |= store_figures(args.repeats)
    figures |= {"chat_peak_rss_mb": peak_rss_mb("chat"), "train_peak_rss_mb": peak_rss_mb("train")}
    print(json.dumps(figures, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
