"""Report: what correcting cost the annotators, and how the model versions fared.

Effort figures come from the store (set with each correction): dice between the model's proposal
and the correction (1 = nothing to fix), pixels changed, turns and seconds. They are grouped by
the model version that made the proposal, so a falling effort shows the loop paying off. The
version history comes from the registry: parent, samples trained on, cIoU on the held-out data,
whether it was promoted, which is current.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from active_learning.registry import LINEAGE, METRICS, Registry

EFFORT = ("dice", "pixels_changed", "turns", "seconds")


def effort_summary(store) -> dict[str, Any]:
    """{"all": figures, "by_model_version": {version: figures}} over corrected/curated samples."""
    groups: dict[str, list] = defaultdict(list)
    everything = []
    for record in store.samples(status=["corrected", "curated"]):
        if record.dice is None and record.seconds is None and record.turns is None:
            continue  # imported ground truth: nobody corrected anything
        groups[record.model_version or "unknown"].append(record)
        everything.append(record)
    return {"all": _figures(everything),
            "by_model_version": {v: _figures(rs) for v, rs in sorted(groups.items())}}


def _figures(records) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(records)}
    for name in EFFORT:
        values = [getattr(r, name) for r in records if getattr(r, name) is not None]
        out[f"{name}_mean"] = float(np.mean(values)) if values else None
        if name in ("pixels_changed", "seconds"):
            out[f"{name}_total"] = float(np.sum(values)) if values else None
    return out


def version_history(registry: Registry) -> list[dict[str, Any]]:
    current, promoted = registry.current, set(registry.history())
    rows = []
    for version in registry.versions():
        lineage = registry.read_json(version, LINEAGE)
        metrics = registry.read_json(version, METRICS)
        rows.append({
            "version": version, "parent": lineage.get("parent"), "created": lineage.get("created"),
            "trained_on": len(lineage.get("samples", [])), "ciou": metrics.get("ciou"),
            "parent_ciou": metrics.get("parent_ciou"), "eval": metrics.get("eval"),
            "promoted": version in promoted, "current": version == current,
        })
    return rows


def history_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'version':<8} {'parent':<8} {'samples':>7} {'cIoU':>7} {'parent':>7}  status"]
    for row in rows:
        status = "current" if row["current"] else ("promoted" if row["promoted"] else "kept out")
        lines.append(f"{row['version']:<8} {row['parent'] or '-':<8} {row['trained_on']:>7} "
                     f"{_num(row['ciou']):>7} {_num(row['parent_ciou']):>7}  {status}")
    return "\n".join(lines)


def effort_table(effort: dict[str, Any]) -> str:
    lines = [f"{'proposed by':<12} {'n':>4} {'dice':>6} {'px changed':>11} {'turns':>6} "
             f"{'seconds':>8}"]
    for version, f in [*effort["by_model_version"].items(), ("all", effort["all"])]:
        lines.append(f"{version:<12} {f['n']:>4} {_num(f['dice_mean'], 3):>6} "
                     f"{_num(f['pixels_changed_mean'], 0):>11} {_num(f['turns_mean'], 1):>6} "
                     f"{_num(f['seconds_mean'], 1):>8}")
    return "\n".join(lines)


def _num(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def plot_report(effort: dict[str, Any], rows: list[dict[str, Any]], path: str | Path) -> Path:
    """A PNG: cIoU per version (left), mean dice and seconds per proposing version (right)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    scored = [r for r in rows if r["ciou"] is not None]
    left.plot([r["version"] for r in scored], [r["ciou"] for r in scored], "o-", color="tab:blue")
    for r in scored:
        if r["promoted"]:
            left.plot(r["version"], r["ciou"], "o", color="tab:green", markersize=10,
                      fillstyle="none")
    left.set(title="held-out cIoU per version (ringed: promoted)", ylabel="cIoU", ylim=(0, 1))
    versions = list(effort["by_model_version"])
    dice = [effort["by_model_version"][v]["dice_mean"] or 0.0 for v in versions]
    right.bar(versions, dice, color="tab:orange")
    right.set(title="correction effort by proposing version", ylabel="mean dice (1 = no change)",
              ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
