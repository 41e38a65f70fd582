"""What do the visual tokens say about each patch? `python benchmarks/towers.py --json`

The LLM can only name what the visual tokens carry. This fits a fresh linear probe on a model's
frozen visual tokens to say how much of each patch every colour, kind, texture and part covers
(the towers' pre-training target, `miras.training.tower_pretraining`), on scenes neither the
pre-training nor the dialogues drew, and scores it on others: the F1 of "this patch holds it"
(coverage >= 0.25), per attribute type. `--towers FILE` puts a pre-training's
`towers.safetensors` into the model first. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
import torch.nn.functional as F

FIT_SEED, SCORE_SEED = 2000, 3000  # the pre-training draws seeds 0 and 1000


def fit_probe(tokens: torch.Tensor, coverage: torch.Tensor, steps: int = 400, lr: float = 1e-2) -> torch.nn.Linear:
    """A linear map from tokens (N, D) to coverage logits (N, A), fitted full-batch by soft BCE."""
    with torch.random.fork_rng():  # the same probe init every call, the caller's RNG untouched
        torch.manual_seed(0)
        probe = torch.nn.Linear(tokens.shape[1], coverage.shape[1])
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    # Standardised inputs: tower outputs range from unit to thousands in norm, one rate fits all.
    mean, std = tokens.mean(0), tokens.std(0) + 1e-6
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(probe((tokens - mean) / std), coverage)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        probe.weight /= std
        probe.bias -= probe.weight @ mean
    return probe


def f1_by_type(predicted: torch.Tensor, present: torch.Tensor, names: tuple[str, ...]) -> dict[str, float]:
    """F1 of (N, A) bool predictions over each attribute type ("colour" of "colour:red"), and `all`."""
    types = {"all": list(range(len(names)))}
    for i, name in enumerate(names):
        types.setdefault(name.split(":")[0], []).append(i)

    def f1(columns: list[int]) -> float:
        p, t = predicted[:, columns], present[:, columns]
        return 2 * (p & t).sum().item() / max(1, p.sum().item() + t.sum().item())

    return {kind: f1(columns) for kind, columns in types.items()}


@torch.no_grad()
def tokens_and_coverage(model, source, scenes: int, batch: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Visual tokens (scenes * N, D) and their patches' coverage (scenes * N, A)."""
    tokens, coverage = [], []
    for start in range(0, scenes, batch):
        clip, aux, target = source.batch(start, min(batch, scenes - start))
        tokens.append(model.visual_tokens(clip, aux).float().flatten(0, 1).cpu())
        coverage.append(target.flatten(0, 1))
    return torch.cat(tokens), torch.cat(coverage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--towers", help="a towers.safetensors to put into the model first")
    parser.add_argument("--scenes", type=int, default=1024, help="scenes to fit the probe on")
    parser.add_argument("--held-out", type=int, default=256, help="scenes to score it on")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    import miras
    from miras.training.tower_pretraining import PRESENT, CoverageSource, load_towers

    model = miras.load(args.model).float().eval()
    if args.towers:
        load_towers(model, args.towers)
    fit = CoverageSource(model, FIT_SEED)
    probe = fit_probe(*tokens_and_coverage(model, fit, args.scenes))
    tokens, coverage = tokens_and_coverage(model, CoverageSource(model, SCORE_SEED), args.held_out)
    with torch.no_grad():
        predicted = probe(tokens).sigmoid() >= PRESENT
    result = {"model": args.model, "towers": args.towers, "scenes": args.scenes, "held_out": args.held_out,
              "f1": f1_by_type(predicted, coverage >= PRESENT, fit.names)}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
