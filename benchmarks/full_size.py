"""Full-size check for a GPU machine: build `miras-7b` with random weights, chat 3 turns.

    python benchmarks/full_size.py --json                       # miras-7b, cuda, bf16
    python benchmarks/full_size.py --preset tiny --device cpu   # the same script, checked on a laptop
    python benchmarks/full_size.py --device cpu --new-tokens 4 --turn-repeats 0 --train-batch 2 \
        --train-repeats 1 --json                                # miras-7b on a 24 GB CPU (6 min)

Prints the peak GPU memory (on a CPU, the peak RSS), each turn's latency, `run.py`'s turn
figures (the last turn of a 4-turn chat with the image features and KV cache kept vs a fresh
chat) and its stage-2 figures (a step of `--train-batch` items on cached features vs the full
forward, policy `paper`) as one JSON object.
Random weights: the figures are about size and speed, not answers (generation runs to the
token limit).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

QUESTIONS = ["What is in this picture?", "Which part of it is used for baking?", "Segment the part you hold."]
LLAMA_VOCAB = 32000


def build_random(preset: str, device: torch.device, dtype: torch.dtype):
    from miras.checkpoint import build
    from miras.config import TokenNames
    from miras.tokenizer import byte_level_tokenizer

    tokenizer = byte_level_tokenizer(TokenNames())
    if preset == "miras-7b":
        # No LLaMA tokenizer offline: pad the vocabulary to LLaMA's size so embeddings are full size.
        tokenizer.add_tokens([f"<pad_{i}>" for i in range(LLAMA_VOCAB - len(tokenizer))])
    # Parameters are created on the device and in the dtype: no float32 copy of 7B (32 GB) first.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = build(preset, tokenizer, seed=0)
    finally:
        torch.set_default_dtype(previous)
    return model.to(dtype=dtype).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="miras-7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--turn-repeats", type=int, default=3, help="turn-cache timings (0: skip them)")
    parser.add_argument("--train-repeats", type=int, default=3, help="stage-2 step timings (0: skip them)")
    parser.add_argument("--train-batch", type=int, default=16, help="items in a stage-2 step (16: the recipe's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    cuda = device.type == "cuda"
    start = time.perf_counter()
    model = build_random(args.preset, device, dtype)
    build_s = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        weights_gb = torch.cuda.memory_allocated() / 2**30
    image = np.random.default_rng(0).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    chat = model.chat(image, max_new_tokens=args.new_tokens)
    turns = []
    for question in QUESTIONS:
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        reply = chat.send(question)
        if cuda:
            torch.cuda.synchronize()
        turns.append({"seconds": time.perf_counter() - t, "masks": len(reply.masks)})
    # benchmarks/ is on the path when this file runs as a script
    from run import process_peak_rss_mb, train_figures, turn_figures

    figures = {
        "preset": args.preset, "device": str(device), "dtype": args.dtype, "parameters": params,
        "build_seconds": build_s, "tokens_in_context": len(chat.token_ids), "turns": turns,
    }
    if args.turn_repeats:
        figures["turn_cache"] = turn_figures(model, image, repeats=args.turn_repeats)
    if cuda:  # the chat's peak, before any training step
        figures |= {"weights_gib": weights_gb, "peak_gib": torch.cuda.max_memory_allocated() / 2**30,
                    "gpu": torch.cuda.get_device_name(device)}
        torch.cuda.reset_peak_memory_stats()
    if args.train_repeats:
        figures["stage2_step"] = train_figures(model, args.train_repeats, batch=args.train_batch)
        if cuda:
            figures["stage2_step"]["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if not cuda:
        figures["peak_rss_gib"] = process_peak_rss_mb() / 1024
    print(json.dumps(figures, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
