"""Does the model list what a scene holds? `python benchmarks/captions.py --json`

Asks held-out synthetic scenes the dialogues' overview question ("Which things are visible
here?") and compares the objects the reply writes with the scene's: the (colour, kind) pairs,
and colours and kinds alone. Precision is the share of what it wrote that is in the scene,
recall the share of the scene it wrote. The first answer of every dialogue is such a list, so a
model that cannot write it names the wrong target turn by turn. Prints one JSON object.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter


def mentions(text: str, colours, kinds) -> dict[str, set]:
    """What a reply writes: `pairs` "{colour} {kind}" side by side, and `colours` and `kinds`
    as whole words."""
    text = text.lower()

    def said(word: str) -> bool:
        return re.search(rf"\b{re.escape(word)}\b", text) is not None

    return {"pairs": {(c, k) for c in colours for k in kinds if said(f"{c} {k}")},
            "colours": {c for c in colours if said(c)}, "kinds": {k for k in kinds if said(k)}}


def truth(objects) -> dict[str, set]:
    return {"pairs": {(o.colour, o.kind) for o in objects}, "colours": {o.colour for o in objects},
            "kinds": {o.kind for o in objects}}


def scores(written: list[dict[str, set]], present: list[dict[str, set]]) -> dict[str, float]:
    """Precision and recall of each mention type, summed over the scenes (micro)."""
    counts = Counter()
    for said, there in zip(written, present):
        for key in said:
            counts[key, "hit"] += len(said[key] & there[key])
            counts[key, "said"] += len(said[key])
            counts[key, "there"] += len(there[key])
    return {f"{key}_{name}": counts[key, "hit"] / counts[key, total] if counts[key, total] else 0.0
            for key in ("pairs", "colours", "kinds") for name, total in (("precision", "said"), ("recall", "there"))}


def main(argv: list[str] | None = None) -> int:
    import heldout  # benchmarks/ is on the path when this file runs as a script

    import miras
    from miras.synth.domain import get_domain
    from miras.training.grounding import CaptionSource

    args = heldout.parse(__doc__, argv)
    model = miras.load(args.model).float().eval()
    source, domain = CaptionSource(args.seed), get_domain("base")
    colours, kinds = list(dict(domain.colours)), list(domain.kinds)
    written, present = [], []
    for i in range(args.dialogues):
        scene, (question, _) = source.draw(i)
        written.append(mentions(model.chat(scene.image).send(question).text, colours, kinds))
        present.append(truth(scene.objects))
    exact = sum(said["pairs"] == there["pairs"] for said, there in zip(written, present))
    result = {"model": args.model, "scenes": args.dialogues, **scores(written, present), "exact_lists": exact}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
