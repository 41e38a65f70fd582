"""The recipe of the bundled demo model: reproducible from a seed on a 2-core CPU.

No pretrained MIRAS, CLIP, ConvNeXt, LLaMA or SAM weights can be had here, so the demo model is
trained from scratch on our synthetic PRIST-style scenes:
  0. a byte-level BPE tokenizer trained on synthetic dialogue text;
  0a. dense pre-training of the visual towers on patch coverage, as pretrained CLIP and ConvNeXt
     come to the real model; they stay frozen from then on, as LLaVA keeps CLIP;
  0b. optionally (`with_image_lessons`), image-first lessons (miras.training.grounding) with the
     visual towers kept at their random init; see `towers_policy` below for what they gave;
  1. stage 1 (mask-text alignment) first, as a curriculum: single requests answered
     `[OBJ]{class}[SEG]`, all but the towers training: the LLM learns to copy the name it is
     asked for while SAM learns to find it;
  2. stage 0: the same parts trained on endless synthetic dialogues whose answers name their
     target as `[OBJ]{class}[SEG]`;
  2a. a caption lesson (every object of a scene), then more dialogue steps, and optionally
     (`history_steps`) dialogue steps whose earlier answers are sometimes wrong;
  2b. SAM alone (its image encoder too) on dialogues whose answers name their target, and some
     stage-1 requests, the LLM and towers frozen: what pretrained SAM brings to the real model;
  3. stage 2 (the paper's): mask decoder, [SEG] head and alignment only, on cached features of a
     fixed synthetic set;
  4. evaluation, turn by turn, on unseen synthetic scenes; weights saved in fp16 with a model card.
Each stage resumes from its folder under `work/` if the run is killed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np


@dataclass
class DemoRecipe:
    seed: int = 0
    size: int = 128
    vocab_size: int = 1024
    corpus_scenes: int = 1500
    # Every training answer names its target: the [SEG] state of a small LLM trained from scratch
    # stays nearly constant, the named phrase is what carries the target (measured: spread 0.5%
    # vs 100% across samples).
    obj_answer_share: float = 1.0
    # Llama's 0.02 embeddings are swamped at init by the attention outputs over the 64 large
    # visual tokens: every [SEG] and phrase state looks alike and the decoder masks every object.
    # Unit-variance embeddings keep each token's identity (stage 1, 300 steps of 16: cIoU 0.24
    # vs 0.18).
    embedding_std: float = 1.0
    # Stage 1 trains the LLM too: copying the requested name is learnt here or not at all (with
    # the LLM frozen in stage 1, 1000 dialogue steps later left it unable to copy: given the
    # ground-truth dialogue it wrote the exact name in 1 of 48; from scratch on single requests
    # the text loss fell to 0.07 in 300 steps). The pre-trained towers stay frozen.
    stage1_policy: str = "all-but-towers"
    # Trained towers collapse into one large constant token (norm 4.5 -> 2159, spread 3.7% across
    # images) and the LLM ignores the image (benchmarks/image_use.py). `all-but-towers` keeps them
    # at their random init, and the lessons (steps > 0) teach the LLM to read them first. Measured
    # (session 5, runs/demo-v4): the lessons open a gap (named-colour loss 0.12 own image vs 0.23
    # another), stage 1's copy task erases most of it (1.02 vs 1.05), and frozen towers halve the
    # masks: teacher-forced cIoU 0.27 vs 0.53, turn by turn 0.136 vs 0.165. Pre-trained towers
    # (below) are kept frozen the same way.
    towers_policy: str = "all-but-towers"  # for the lessons and stage 0; stage 1 uses stage1_policy
    # Dense pre-training of the towers (miras.training.tower_pretraining) before everything else:
    # what pretrained CLIP and ConvNeXt give the real model. Measured (session 6): the towers
    # learn it (held-out F1 0.53), but without captions the masks learn slower after it
    # (teacher-forced cIoU at stage-1 step 1000: 0.195 frozen, 0.268 trained on, 0.356 with
    # towers from scratch), and trained on they grow into a token the LLM ignores. 3000 steps in
    # one schedule find kinds with F1 0.73 (1000: 0.23) and lift the naming turn by turn from 35
    # to 46 of 96 held-out dialogues (session 13, run v12), but a wrong name now pulls the mask
    # onto the wrong object: the 252 test dialogues' cIoU 0.295 -> 0.284 until `sam_steps` 3000.
    tower_steps: int = 3000
    tower_batch: int = 32
    tower_lr: float = 1e-3
    solid_steps: int = 0
    named_colour_steps: int = 0
    # Captions (grounding.CaptionSource) after stage 0, then `refresh_steps` more dialogue steps.
    # With the towers pre-trained and frozen they are the first lesson that carries into the
    # dialogues (session 7 probes: text-loss gap 0.055 own image vs another's). The full run
    # (session 8): turn-by-turn cIoU 0.203, against 0.165 for towers trained from scratch with
    # no captions (`with_towers_from_scratch`, the model bundled before).
    caption_steps: int = 600
    # 300 left the text loss falling (CE 0.69); 1300 reach 0.52 on unseen dialogues and lift the
    # turn-by-turn cIoU from 0.208 to 0.292 (session 11, run v10). 3000 reach 0.46, flat from
    # step 2600, and play better (cIoU 0.297, 785 other dialogues 0.263 -> 0.281), but the masks
    # of the stage-1 template drift (teacher-forced single requests 0.340 -> 0.298; session 12,
    # run v11): the dialogue steps never see that template. `sam_request_every` mends that.
    refresh_steps: int = 3000
    # SAM trained alone (`sam` policy: image encoder, mask decoder, [SEG] head, alignment) on
    # fresh named dialogues after the captions, the LLM and towers frozen so the naming stays as
    # it is. Measured (session 10, on the model bundled in session 8): teacher-forced cIoU 0.50 /
    # 0.51 / 0.53 at steps 500 / 1000 / 1500; turn by turn, 785 unseen dialogues, cIoU 0.220 ->
    # 0.229 and gIoU 0.246 -> 0.278; 200 single requests cIoU 0.308 -> 0.321. The whole run with
    # it (session 10, run v9, bundled): the same LLM as the model before, 785 dialogues 0.227 /
    # 0.272, single requests 0.322. With the towers of `tower_steps` 3000, 1500 steps leave the
    # masks behind (teacher-forced 0.516); 3000 reach 0.556 (session 13, run v12s, bundled): the
    # 252 test dialogues' cIoU / gIoU 0.295 / 0.378 -> 0.300 / 0.401, 785 others 0.279 / 0.355 ->
    # 0.276 / 0.366, BLEU-4 0.320 -> 0.375 (against v11b: 1000 tower and 1500 SAM steps).
    # Dialogue steps after those, on fresh scenes (seed + 7), where in `history_noise` of the
    # dialogues the answers before the last two have wrong colours and kinds and are not learnt
    # (miras.training.noisy_history): turn by turn the model's history is its own, often wrong,
    # answers. In a probe from v12s's model before SAM's steps, 600 of them named the target in 206 of 400
    # held-out dialogues turn by turn, 600 plain ones in 184 (none: 182). Session 17: from the
    # bundled v12s, 600 such steps then 1000 SAM and 300 stage-2 steps played the 252 test
    # dialogues at cIoU 0.337 (600 plain steps in their place: 0.281; v12s 0.300), but on other
    # scenes (seed + 8) 0.303 against 0.307 plain: a gain within the noise, so 0 here.
    history_steps: int = 0
    history_noise: float = 0.5
    sam_steps: int = 3000
    sam_lr: float = 3e-4
    # One item in `sam_request_every` of SAM's steps a stage-1 request (0: none), so SAM keeps
    # the `[SEG]` state of stage 1's template, which the dialogue steps after the captions move.
    # Session 12 (run v11b, bundled), 4 against none: teacher-forced single requests 0.298 ->
    # 0.491 (200), turn by turn the same (252 test dialogues: cIoU 0.297 -> 0.295).
    sam_request_every: int = 4
    lesson_batch: int = 16
    lesson_lr: float = 1e-3  # from scratch, as stage 1
    stage1_steps: int = 2000
    stage1_batch: int = 16
    stage1_lr: float = 1e-3
    stage0_steps: int = 1000
    stage0_batch: int = 16
    stage0_lr: float = 3e-4  # stage 1 left SAM trained: a gentler rate keeps it
    ce_weight: float = 0.5
    # From scratch on small objects, the paper's 2.0 BCE + 0.5 Dice sinks into empty masks (cIoU
    # 0.016 after 200 steps of 8); Dice-heavy 0.5 + 4.0 masks every object (precision 0.3).
    # SAM alone on phrase prompts, 300 steps of 16: 2.0 + 2.0 reached cIoU 0.38, 0.5 + 4.0 0.27.
    bce_weight: float = 2.0
    dice_weight: float = 2.0
    stage2_steps: int = 300
    stage2_batch: int = 16
    stage2_lr: float = 1e-4
    stage2_images: int = 600
    test_images: int = 100
    eval_samples: int = 64  # held-out dialogues of each periodic teacher-forced evaluation
    bf16: bool = True
    # torch.compile in every training stage (miras.training.compiled): a minute or two of
    # compiling per stage; in session 16's shortened recipe the refresh took 13% less time and
    # SAM's stage 26% less. The same losses up to float rounding.
    compile: bool = True
    # DataLoader processes making batches ahead (miras.training.batches): the same weights with
    # any number. On 2 cores a worker slows a dialogue step (3.0-3.3 s against 2.3-2.5 s: it
    # takes a core from the step), so none here; a machine with cores to spare, or a GPU, wants several.
    workers: int = 0

    def __post_init__(self) -> None:
        # TrainSettings checks this too, but only when a stage starts: after the towers' 20 minutes.
        if self.workers < 0:
            from miras.errors import ConfigError

            raise ConfigError(f"--workers must be >= 0 (0 makes each batch in the training process), got {self.workers}")


def with_towers_from_scratch(recipe: DemoRecipe) -> DemoRecipe:
    """The model bundled in sessions 3-7 (`miras demo-train --towers-from-scratch`): no tower
    pre-training and no captions; the towers train with everything else from their random init."""
    return replace(recipe, tower_steps=0, caption_steps=0, sam_steps=0, towers_policy="all", stage1_policy="all")


def with_image_lessons(recipe: DemoRecipe) -> DemoRecipe:
    """The session-5 variant (`miras demo-train --image-lessons`): two image-first lessons, and
    the towers at their random init, frozen, in every stage."""
    return replace(with_towers_from_scratch(recipe), solid_steps=200, named_colour_steps=600,
                   towers_policy="all-but-towers", stage1_policy="all-but-towers")


def with_pretrained_towers(recipe: DemoRecipe) -> DemoRecipe:
    """The session-6 variant (`miras demo-train --pretrain-towers`): the towers pre-trained, then
    trained on with everything else; no captions."""
    return replace(with_towers_from_scratch(recipe), tower_steps=1000)


# `miras demo-train --NAME` for each variant of the default recipe.
VARIANTS = {"towers-from-scratch": with_towers_from_scratch, "pretrain-towers": with_pretrained_towers,
            "image-lessons": with_image_lessons}


def corpus(recipe: DemoRecipe) -> list[str]:
    """Dialogue text of synthetic scenes (their own seeds: never the test scenes)."""
    from miras.synth import generate_sample

    texts = []
    for i in range(recipe.corpus_scenes):
        rng = np.random.default_rng([recipe.seed, 7, i])
        _, _, samples = generate_sample(rng, "base", 64, obj_answer_share=recipe.obj_answer_share)
        texts += [turn.text for sample in samples for turn in sample.dialogue]
    return texts


def _tokenizer(recipe: DemoRecipe, folder: Path):
    from transformers import AutoTokenizer

    from miras.config import TokenNames
    from miras.tokenizer import byte_level_tokenizer

    if (folder / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer = byte_level_tokenizer(TokenNames(), corpus=corpus(recipe), vocab_size=recipe.vocab_size)
    tokenizer.save_pretrained(folder)
    return tokenizer


def _init_embeddings(model, recipe: DemoRecipe) -> None:
    import torch

    generator = torch.Generator().manual_seed(recipe.seed)
    weight = model.llm.get_input_embeddings().weight
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=generator) * recipe.embedding_std)


def demo_train(out: str | Path, work: str | Path, recipe: DemoRecipe, log: Callable[[str], None] = print) -> dict:
    """Run the whole recipe; returns the test metrics written into the model card."""
    from miras.checkpoint import build, save_pretrained
    from miras.evaluate import evaluate
    from miras.presets import demo
    from miras.synth import generate
    from miras.training.data import PristSource
    from miras.training.loop import train
    from miras.training.settings import TrainSettings

    out, work = Path(out), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    tokenizer = _tokenizer(recipe, work / "tokenizer")
    model = build(demo(), tokenizer, seed=recipe.seed)
    _init_embeddings(model, recipe)
    mask_weights = {"bce_weight": recipe.bce_weight, "dice_weight": recipe.dice_weight}
    _pretrain_towers(model, recipe, work, log)
    _lessons(model, recipe, work, mask_weights, log)
    log(f"stage 1: {recipe.stage1_steps} steps of {recipe.stage1_batch} single requests, policy {recipe.stage1_policy}")
    stage1 = TrainSettings(
        stage=1, policy=recipe.stage1_policy, max_steps=recipe.stage1_steps, batch_size=recipe.stage1_batch,
        lr=recipe.stage1_lr, warmup_steps=50, eval_every=200, eval_samples=recipe.eval_samples, save_every=100,
        seed=recipe.seed, bf16=recipe.bf16, compile=recipe.compile, ce_weight=recipe.ce_weight, **mask_weights,
        workers=recipe.workers,
    )
    train(model, _single_requests(recipe, 0), stage1, work / "stage1", eval_source=_single_requests(recipe, 1000))
    _minutes(work, started)
    started = time.time()

    log(f"stage 0: {recipe.stage0_steps} steps of {recipe.stage0_batch} dialogues, policy {recipe.towers_policy}")
    stage0 = stage0_settings(recipe)
    synth, held_out = _named_dialogues(recipe, 0), _named_dialogues(recipe, 1000)
    train(model, synth, stage0, work / "stage0", eval_source=held_out)
    _captions(model, recipe, stage0, synth, held_out, work, log)
    _noisy_history(model, recipe, stage0, held_out, work, log)
    _sam_alone(model, recipe, stage0, held_out, work, log)
    _minutes(work, started)
    started = time.time()

    log(f"stage 2: {recipe.stage2_steps} steps on cached features of {recipe.stage2_images} scenes")
    stage2_data = work / "stage2-data"
    if not (stage2_data / "prist.json").exists():
        generate(stage2_data, recipe.stage2_images, recipe.seed + 1, size=recipe.size,
                 obj_answer_share=recipe.obj_answer_share)
    stage2 = TrainSettings(
        stage=2, policy="paper", max_steps=recipe.stage2_steps, batch_size=recipe.stage2_batch,
        lr=recipe.stage2_lr, warmup_steps=20, eval_every=100, eval_samples=recipe.eval_samples, save_every=100,
        seed=recipe.seed, bf16=False, compile=recipe.compile, workers=recipe.workers,
    )
    train(model, PristSource(stage2_data, stage=2), stage2, work / "stage2",
          eval_source=_named_dialogues(recipe, 1000, stage=2))
    train_minutes = _minutes(work, started)

    log(f"evaluating on {recipe.test_images} unseen scenes, turn by turn")
    test = work / "test"
    if not (test / "prist.json").exists():
        generate(test, recipe.test_images, recipe.seed + 2, size=recipe.size)
    scores = evaluate(model, test, text=True)
    save_pretrained(model.half(), out)
    model.float()
    write_model_card(out, recipe, scores, train_minutes)
    return scores


def stage0_settings(recipe: DemoRecipe):
    """Stage 0's training settings (whole dialogues), which the later dialogue stages vary."""
    from miras.training.settings import TrainSettings

    return TrainSettings(
        stage=0, policy=recipe.towers_policy, max_steps=recipe.stage0_steps, batch_size=recipe.stage0_batch,
        lr=recipe.stage0_lr, warmup_steps=50, eval_every=250, eval_samples=recipe.eval_samples, save_every=100,
        seed=recipe.seed, bf16=recipe.bf16, compile=recipe.compile, ce_weight=recipe.ce_weight,
        bce_weight=recipe.bce_weight, dice_weight=recipe.dice_weight, workers=recipe.workers,
    )


def _pretrain_towers(model, recipe: DemoRecipe, work: Path, log: Callable[[str], None]) -> None:
    from miras.training.tower_pretraining import TowerSettings, pretrain_towers

    if not recipe.tower_steps:
        return
    log(f"towers: {recipe.tower_steps} steps of {recipe.tower_batch} scenes, patch coverage")
    settings = TowerSettings(steps=recipe.tower_steps, batch_size=recipe.tower_batch, lr=recipe.tower_lr,
                             seed=recipe.seed, size=recipe.size, bf16=recipe.bf16)
    metrics = pretrain_towers(model, work / "towers", settings)
    log(f"towers: held-out bce {metrics['bce']:.4f}, f1 {metrics['f1']:.3f}")


def _lessons(model, recipe: DemoRecipe, work: Path, mask_weights: dict, log: Callable[[str], None]) -> None:
    """The image-first lessons, one resumable run each, before any dialogue or copy task."""
    from miras.training.grounding import NamedColourSource, SolidColourSource
    from miras.training.loop import train
    from miras.training.settings import TrainSettings

    lessons = (("solid", SolidColourSource, recipe.solid_steps), ("named-colour", NamedColourSource, recipe.named_colour_steps))
    for name, source, steps in lessons:
        if not steps:
            continue
        log(f"lesson {name}: {steps} steps of {recipe.lesson_batch}, policy {recipe.towers_policy}")
        settings = TrainSettings(
            stage=0, policy=recipe.towers_policy, max_steps=steps, batch_size=recipe.lesson_batch,
            lr=recipe.lesson_lr, warmup_steps=50, eval_every=200, eval_samples=recipe.eval_samples,
            save_every=100, seed=recipe.seed, bf16=recipe.bf16, compile=recipe.compile, ce_weight=recipe.ce_weight, **mask_weights,
            workers=recipe.workers,
        )
        train(model, source(recipe.seed, size=recipe.size), settings, work / f"lesson-{name}",
              eval_source=source(recipe.seed + 1000, size=recipe.size))


def _captions(model, recipe: DemoRecipe, stage0, dialogues, held_out, work: Path, log: Callable[[str], None]) -> None:
    """The caption lesson, then `refresh_steps` dialogue steps (the stage-0 source's first
    dialogues again, as in the measured probe)."""
    from miras.training.grounding import CaptionSource
    from miras.training.loop import train

    if not recipe.caption_steps:
        return
    log(f"lesson caption: {recipe.caption_steps} steps of {recipe.lesson_batch}, policy {recipe.towers_policy}")
    captions = replace(stage0, max_steps=recipe.caption_steps, batch_size=recipe.lesson_batch, warmup_steps=20,
                       eval_every=0, bce_weight=0.0, dice_weight=0.0, ce_weight=1.0)
    train(model, CaptionSource(recipe.seed, size=recipe.size), captions, work / "lesson-caption")
    log(f"stage 0 after the captions: {recipe.refresh_steps} steps of {recipe.stage0_batch} dialogues")
    refresh = replace(stage0, max_steps=recipe.refresh_steps, warmup_steps=20)
    train(model, dialogues, refresh, work / "stage0-refresh", eval_source=held_out)


def _noisy_history(model, recipe: DemoRecipe, stage0, held_out, work: Path, log: Callable[[str], None]) -> None:
    """`history_steps` dialogue steps on fresh scenes, some with wrong earlier answers."""
    from miras.training.loop import train
    from miras.training.noisy_history import NoisyHistory

    if not recipe.history_steps:
        return
    log(f"stage 0, noisy history: {recipe.history_steps} steps of {recipe.stage0_batch} dialogues, "
        f"{recipe.history_noise:.0%} with wrong earlier answers")
    settings = replace(stage0, max_steps=recipe.history_steps, warmup_steps=20, eval_every=200)
    items = NoisyHistory(_named_dialogues(recipe, 7), recipe.history_noise)
    train(model, items, settings, work / "stage0-history", eval_source=held_out)


def _sam_alone(model, recipe: DemoRecipe, stage0, held_out, work: Path, log: Callable[[str], None]) -> None:
    """SAM trained alone on the items of `_sam_items`."""
    from miras.training.loop import train

    if not recipe.sam_steps:
        return
    log(f"SAM alone: {recipe.sam_steps} steps of {recipe.stage0_batch} dialogues, LLM and towers frozen")
    # The text loss has nothing to train here (the LLM is frozen).
    settings = replace(stage0, policy="sam", max_steps=recipe.sam_steps, lr=recipe.sam_lr, ce_weight=0.0,
                       eval_every=500)
    train(model, _sam_items(recipe), settings, work / "sam", eval_source=held_out)


def _sam_items(recipe: DemoRecipe):
    """SAM's items: named dialogues of scenes no other stage sees (seed + 5), and, if the recipe
    asks, every `sam_request_every`-th item a stage-1 request on those scenes."""
    from miras.training.data import WithEveryNth

    dialogues = _named_dialogues(recipe, 5)
    if not recipe.sam_request_every:
        return dialogues
    return WithEveryNth(dialogues, _single_requests(recipe, 5), recipe.sam_request_every)


def _single_requests(recipe: DemoRecipe, seed_offset: int):
    """Endless stage-1 requests (`Please segment X.` / `Sure, it is [OBJ]X[SEG].`) from seed
    `recipe.seed + seed_offset`."""
    from miras.training.data import SynthSource

    return SynthSource(recipe.seed + seed_offset, stage=1, size=recipe.size)


def _named_dialogues(recipe: DemoRecipe, seed_offset: int, stage: int = 0):
    """Endless synthetic dialogues from seed `recipe.seed + seed_offset`, their answers naming
    their target as the recipe asks (`obj_answer_share`)."""
    from miras.training.data import SynthSource

    return SynthSource(recipe.seed + seed_offset, stage=stage, size=recipe.size,
                       obj_answer_share=recipe.obj_answer_share)


MINUTES_FILE = "train-minutes.json"


def _minutes(work: Path, since: float) -> float:
    """Add the minutes since `since` to the work folder's total, which survives a run killed at
    a stage boundary (the card counts every run's training); returns the new total."""
    path = work / MINUTES_FILE
    total = (json.loads(path.read_text())["minutes"] if path.exists() else 0.0) + (time.time() - since) / 60
    path.write_text(json.dumps({"minutes": total}))
    return total


def write_model_card(out: Path, recipe: DemoRecipe, scores: dict, minutes: float) -> None:
    (out / "metrics.json").write_text(json.dumps(scores, indent=2) + "\n")
    rows = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in scores.items())
    recipe_lines = "\n".join(f"- `{k}` = {v}" for k, v in asdict(recipe).items())
    (out / "README.md").write_text(MODEL_CARD.format(
        stages=training_stages(recipe), rows=rows, recipe=recipe_lines, minutes=minutes, flags=recipe_flags(recipe)))


def training_stages(recipe: DemoRecipe) -> str:
    """The card's numbered list of what trained, in order, for this recipe."""
    trains = {"all": "every parameter trains", "all-but-towers": "all but the towers train"}
    stages = []
    if recipe.tower_steps:
        kept = "then kept frozen" if recipe.towers_policy == "all-but-towers" else "then trained on"
        stages.append(f"the visual towers learn to say what each patch holds (colour, kind, texture, part; "
                      f"{recipe.tower_steps} steps), as pretrained CLIP and ConvNeXt would come, {kept}")
    if recipe.solid_steps or recipe.named_colour_steps:
        stages.append(f"image-first lessons: one-colour pictures ({recipe.solid_steps} steps), the colour of "
                      f"a named kind ({recipe.named_colour_steps} steps)")
    stages.append(f"single requests, the paper's stage 1 (mask-text alignment; {recipe.stage1_steps} steps); "
                  f"{trains[recipe.stage1_policy]}, so the LLM learns to copy the name it is asked for")
    stages.append(f"whole dialogues, our stage 0 ({recipe.stage0_steps} steps; {trains[recipe.towers_policy]})")
    if recipe.caption_steps:
        stages.append(f"captions: every object of a scene, no mask ({recipe.caption_steps} steps), then "
                      f"{recipe.refresh_steps} more dialogue steps")
    if recipe.history_steps:
        stages.append(f"dialogues on new scenes where {recipe.history_noise:.0%} have wrong earlier answers, "
                      f"given as context and not learnt ({recipe.history_steps} steps), as the model's own "
                      "answers are when it plays a dialogue")
    if recipe.sam_steps:
        requests = f", one item in {recipe.sam_request_every} a stage-1 request" if recipe.sam_request_every else ""
        stages.append(f"SAM alone (image encoder, mask decoder, [SEG] head and alignment) on named dialogues{requests} "
                      f"({recipe.sam_steps} steps; LLM and towers frozen), as pretrained SAM would come")
    stages.append(f"the paper's stage 2 on cached features ({recipe.stage2_steps} steps; mask decoder, "
                  "[SEG] head and alignment only)")
    return "\n".join(f"{i}. {stage};" if i < len(stages) else f"{i}. {stage}." for i, stage in enumerate(stages, 1))


# Each a `miras demo-train` option: the step counts, and how often SAM's steps read a request.
COUNT_OPTIONS = ("tower_steps", "stage1_steps", "stage0_steps", "refresh_steps", "history_steps", "sam_steps",
                 "sam_request_every", "stage2_steps")


def recipe_flags(recipe: DemoRecipe) -> str:
    """The `miras demo-train` options that rebuild this recipe: the nearest variant, the seed and
    any counts changed from it (the card lists every field below them)."""
    base = DemoRecipe(seed=recipe.seed)
    variants = {"": base} | {f"--{name}": make(base) for name, make in VARIANTS.items()}
    fields = asdict(recipe)
    flag, variant = min(variants.items(), key=lambda kv: sum(v != fields[k] for k, v in asdict(kv[1]).items()))
    steps = [f"--{name.replace('_', '-')} {fields[name]}" for name in COUNT_OPTIONS if fields[name] != getattr(variant, name)]
    return " ".join(filter(None, [flag, f"--seed {recipe.seed}", *steps, "" if recipe.compile else "--no-compile"]))


MODEL_CARD = """# MIRAS demo model (synthetic scenes only)

A small MIRAS (the `demo` preset: CLIP-style ViT and ConvNeXt towers at 128 px, a 4-layer Llama,
SAM's ViT image encoder and mask decoder) trained **from scratch** on our own synthetic
PRIST-style data by `miras demo-train`. No pretrained weights exist here, so every part is
trained here, in this order:
{stages}
Every training answer names its target as `[OBJ]{{class}}[SEG]`.

**Limits.** It has only ever seen flat, coloured synthetic shapes with parts (mugs, houses, flags,
...) on noisy backgrounds, and our own dialogue wording. On real images it is noise. It is meant
for trying the plugin and the active-learning loop on a laptop, not for annotation.

## Test metrics ({minutes:.0f} minutes of training on this CPU)
Unseen synthetic scenes, played turn by turn (`miras eval`):

| metric | value |
| --- | --- |
{rows}

## Recipe (reproduce with `miras demo-train {flags}`)
{recipe}
"""
