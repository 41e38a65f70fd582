"""Evaluation metrics, as docs/architecture.md defines them.

Masks: cIoU = sum of foreground intersections / sum of foreground unions over the set; gIoU = mean
per-sample foreground IoU; precision, recall and F1 from pixel TP/FP/FN summed over the set (micro).
Text: BLEU-4, ROUGE-L and METEOR as the COCO caption toolkit (pycocoevalcap) computes them, and
Dist-1/2 = distinct n-grams / all n-grams of the replies.
"""

from __future__ import annotations

import contextlib
import shutil
import warnings
from collections.abc import Iterable, Iterator, Sequence
from itertools import zip_longest
from typing import Any

import numpy as np

from miras.errors import MirasError


class MetricInputError(MirasError, ValueError):
    """Predictions and references do not match (shape, count, dtype)."""


class JavaNotFoundError(MirasError, OSError):
    """pycocoevalcap's tokenizer and METEOR need a Java runtime."""


def _ratio(num: int, den: int, empty: float) -> float:
    return num / den if den else empty


class MaskMeter:
    """Accumulates mask statistics one (pred, gt) pair at a time, so that no mask is kept."""

    def __init__(self) -> None:
        self.n = 0
        self.tp = self.fp = self.fn = 0
        self.iou_sum = 0.0

    def update(self, pred: np.ndarray, gt: np.ndarray) -> float:
        """Add one sample: `pred` and `gt` are (H, W) bool. Returns its foreground IoU."""
        pred, gt = np.asarray(pred), np.asarray(gt)
        for name, m in (("prediction", pred), ("ground truth", gt)):
            if m.dtype != np.bool_:
                raise MetricInputError(
                    f"sample {self.n}: {name} mask has dtype {m.dtype}; pass a bool mask "
                    "(for instance logits > 0, or labels == 1)")
        if pred.shape != gt.shape:
            raise MetricInputError(f"sample {self.n}: prediction shape {pred.shape} differs from "
                                   f"ground-truth shape {gt.shape}")
        tp = int(np.count_nonzero(pred & gt))
        fp = int(np.count_nonzero(pred & ~gt))
        fn = int(np.count_nonzero(~pred & gt))
        # empty prediction of an empty target: perfect, as the authors count it
        iou = _ratio(tp, tp + fp + fn, empty=1.0)
        self.n += 1
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
        self.iou_sum += iou
        return iou

    def compute(self) -> dict[str, float]:
        """ciou, giou, precision, recall, f1 (NaN when no sample was added) and n.

        A ratio whose denominator is 0 is 1.0 when no pixel is foreground in either mask (nothing
        to find, nothing found) and 0.0 otherwise (e.g. precision when nothing was predicted).
        """
        if self.n == 0:
            nan = float("nan")
            return {"ciou": nan, "giou": nan, "precision": nan, "recall": nan, "f1": nan, "n": 0}
        tp, fp, fn = self.tp, self.fp, self.fn
        empty = 1.0 if tp + fp + fn == 0 else 0.0
        return {
            "ciou": _ratio(tp, tp + fp + fn, empty),
            "giou": self.iou_sum / self.n,
            "precision": _ratio(tp, tp + fp, empty),
            "recall": _ratio(tp, tp + fn, empty),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn, empty),
            "n": self.n,
        }


def mask_metrics(preds: Iterable[np.ndarray], gts: Iterable[np.ndarray]) -> dict[str, float]:
    """Mask metrics over paired iterables of (H, W) bool masks (H, W may vary between pairs)."""
    meter = MaskMeter()
    missing = object()
    for pred, gt in zip_longest(preds, gts, fillvalue=missing):
        if pred is missing or gt is missing:
            longer = "predictions" if gt is missing else "ground truths"
            raise MetricInputError(f"more {longer} than the other after {meter.n} pairs")
        meter.update(pred, gt)
    return meter.compute()


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams / all n-grams over `texts` (lower-cased whitespace tokens; n-grams do not
    cross texts). 0.0 when there is no n-gram."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = text.lower().split()
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return _ratio(len(seen), total, empty=0.0)


def text_metrics(
    hyps: Sequence[str],
    refs: Sequence[str] | Sequence[Sequence[str]],
    *,
    with_java: bool | None = None,
) -> dict[str, float]:
    """bleu4, rouge_l, meteor, dist1, dist2 and n of the replies `hyps` against `refs`.

    `refs[i]` is one reference string or a list of them for `hyps[i]`. With Java (`with_java`
    True, or None and `java` on PATH) the texts go through the toolkit's PTB tokenizer and METEOR
    1.5: two JVM starts per call, 5-10 s whatever the number of texts. Without it (False, or None and no Java, which warns) the texts
    are lower-cased and split on whitespace and meteor is NaN: BLEU and ROUGE-L then differ
    slightly from the toolkit's (punctuation stays).
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.rouge.rouge import Rouge

    ref_lists = _reference_lists(hyps, refs)
    use_java = _java_available(with_java)
    res = {i: [_one_line(h)] for i, h in enumerate(hyps)}
    gts = {i: [_one_line(r) for r in rs] for i, rs in enumerate(ref_lists)}
    if use_java:
        res, gts = _ptb_tokenize(res, gts)
    else:
        res = {i: [s.lower() for s in v] for i, v in res.items()}
        gts = {i: [s.lower() for s in v] for i, v in gts.items()}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, _ = Rouge().compute_score(gts, res)
    return {
        "bleu4": float(bleu[3]),
        "rouge_l": float(rouge),
        "meteor": _meteor(gts, res) if use_java else float("nan"),
        "dist1": distinct_n(hyps, 1),
        "dist2": distinct_n(hyps, 2),
        "n": len(hyps),
    }


def _reference_lists(
    hyps: Sequence[str], refs: Sequence[str] | Sequence[Sequence[str]]
) -> list[list[str]]:
    if isinstance(hyps, str) or isinstance(refs, str):
        raise MetricInputError("pass lists of strings (one per reply), not a single string")
    if not hyps:
        raise MetricInputError("no hypotheses to score")
    if len(hyps) != len(refs):
        raise MetricInputError(f"{len(hyps)} hypotheses but {len(refs)} references")
    ref_lists = [[r] if isinstance(r, str) else list(r) for r in refs]
    for i, rs in enumerate(ref_lists):
        if not rs or not all(isinstance(r, str) for r in rs):
            raise MetricInputError(f"reference {i} must be a string or a non-empty list of them")
    if not all(isinstance(h, str) for h in hyps):
        raise MetricInputError("every hypothesis must be a string")
    return ref_lists


def _java_available(with_java: bool | None) -> bool:
    found = shutil.which("java") is not None
    if with_java and not found:
        raise JavaNotFoundError(
            "text_metrics(with_java=True) needs a Java runtime for the PTB tokenizer and METEOR: "
            "install one (apt-get install default-jre-headless) or pass with_java=False")
    if with_java is None and not found:
        warnings.warn("no Java runtime: tokenizing on whitespace and reporting meteor as NaN; "
                      "install one with apt-get install default-jre-headless", stacklevel=3)
    return found if with_java is None else with_java


def _one_line(text: str) -> str:
    # the toolkit's tokenizer and METEOR talk one sentence per line, and ROUGE splits on " "
    return " ".join(text.split())


def _ptb_tokenize(
    *groups: dict[int, list[str]],
) -> tuple[dict[int, list[str]], ...]:
    """The toolkit's PTB tokenization (lower-cased, punctuation removed): one JVM for all."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    keyed = {(g, i, j): [{"caption": s}]
             for g, texts in enumerate(groups) for i, ss in texts.items() for j, s in enumerate(ss)}
    tokens = PTBTokenizer().tokenize(keyed)
    if tokens.keys() != keyed.keys():
        raise MetricInputError("the PTB tokenizer returned fewer sentences than it was given")
    return tuple({i: [tokens[(g, i, j)][0] for j in range(len(ss))] for i, ss in texts.items()}
                 for g, texts in enumerate(groups))


def _meteor(gts: dict[int, list[str]], res: dict[int, list[str]]) -> float:
    from pycocoevalcap.meteor.meteor import Meteor

    with _closing_meteor(Meteor()) as meteor:
        score, _ = meteor.compute_score(gts, res)
    return float(score)


@contextlib.contextmanager
def _closing_meteor(meteor: Any) -> Iterator[Any]:
    # Meteor only stops its JVM in __del__; stop it here so that none outlives the call
    try:
        yield meteor
    finally:
        meteor.meteor_p.kill()
        meteor.meteor_p.wait()

