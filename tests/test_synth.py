"""Synthetic PRIST data (miras.synth): deterministic, valid, exact, faithful to the scene."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from itertools import groupby
from pathlib import Path

import numpy as np
import pytest

from miras.errors import ConfigError
from miras.prist import focus_mask, load_annotation, load_image, read_prist
from miras.synth import add_arguments, generate, generate_sample, generate_scene, run
from miras.synth.dataset import annotation_of, image_id, image_rng
from miras.synth.dialogue import Dialogue
from miras.synth.domain import (
    BASE_COLOURS,
    SHIFTED_COLOURS,
    SHIFTED_SHAPE_KINDS,
    SHIFTED_THING_KINDS,
)
from miras.synth.phrases import plural
from miras.synth.polygons import hole_free_pieces, shapes_of_mask
from miras.synth.reasoning import (
    POSITION_MARGIN,
    directional_offset,
    extreme_margin,
    extreme_score,
)
from miras.synth.scene import Scene, SceneObject, mask_centroid
from miras.synth.shapes import KINDS
from miras.synth.wording import ANSWER_LIST, DIRECTION_WORDS, PRIST_REQUESTS

SCENES_PER_DOMAIN = 40


def _scenes(domain: str) -> list[tuple[Scene, dict, list[Dialogue]]]:
    made = []
    for index in range(SCENES_PER_DOMAIN):
        img_id = image_id(7, domain, 128, index)
        scene, dialogues = generate_scene(image_rng(7, domain, 128, index), domain, 128, img_id)
        made.append((scene, annotation_of(scene, img_id), dialogues))
    return made


@pytest.fixture(scope="module")
def made() -> list[tuple[Scene, dict, list[Dialogue]]]:
    return _scenes("base") + _scenes("shifted")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- determinism --------------------------------------------------------------------------------


def test_one_seed_gives_identical_files(tmp_path: Path) -> None:
    first = _files(generate(tmp_path / "a", n=5, seed=11))
    second = _files(generate(tmp_path / "b", n=5, seed=11))
    assert first == second
    assert sum(name.startswith("images/") for name in first) == 5
    assert sum(name.startswith("masks/") for name in first) == 5


def test_other_seed_gives_other_images(tmp_path: Path) -> None:
    first = _files(generate(tmp_path / "a", n=2, seed=1))
    second = _files(generate(tmp_path / "b", n=2, seed=2))
    assert set(first).isdisjoint(set(second) - {"prist.json"})
    assert first["prist.json"] != second["prist.json"]


def test_fewer_images_are_a_prefix_of_more(tmp_path: Path) -> None:
    small = tmp_path / "small"
    large = tmp_path / "large"
    generate(small, n=3, seed=5)
    generate(large, n=6, seed=5)
    small_files, large_files = _files(small), _files(large)
    for name, data in small_files.items():
        if name != "prist.json":
            assert large_files[name] == data
    small_samples, large_samples = read_prist(small), read_prist(large)
    assert large_samples[: len(small_samples)] == small_samples
    assert len({s.img_id for s in large_samples}) == 6


def test_progress_is_reported_per_image(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(tmp_path, n=3, seed=0, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


# --- what is on disk ------------------------------------------------------------------------------


def test_read_prist_reads_what_generate_wrote(tmp_path: Path) -> None:
    generate(tmp_path, n=3, seed=9, domain="shifted", size=96)
    samples = read_prist(tmp_path)
    ids = [image_id(9, "shifted", 96, k) for k in range(3)]
    # contiguous per image, in index order, as PRIST stores its dialogues
    assert [img_id for img_id, _ in groupby(s.img_id for s in samples)] == ids
    for index, img_id in enumerate(ids):
        image, annotation, expected = generate_sample(
            image_rng(9, "shifted", 96, index), "shifted", 96, img_id
        )
        assert np.array_equal(load_image(tmp_path, img_id), image)
        assert load_annotation(tmp_path, img_id)["shapes"] == annotation["shapes"]
        assert [s for s in samples if s.img_id == img_id] == expected
        assert 1 <= len(expected) <= 3
    assert all(re.fullmatch(r"[0-9a-f]{16}\.png", i) for i in ids)


def test_cli_helpers_write_a_data_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(tmp_path / "out"), "--n", "2", "--seed", "3", "--size", "64"])
    assert run(args) == 0
    assert len(read_prist(tmp_path / "out")) >= 2
    assert "2 images" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args([str(tmp_path), "--n", "2", "--seed", "3", "--domain", "mars"])


def test_synth_json_prints_one_summary_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from miras.cli import main

    assert main(["synth", str(tmp_path / "out"), "--n", "1", "--seed", "3", "--size", "64", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["out"] == str(tmp_path / "out") and summary["images"] == 1


@pytest.mark.parametrize(
    "kwargs", [{"n": 0}, {"size": 16}, {"domain": "mars"}, {"obj_answer_share": 1.5}]
)
def test_bad_options_raise_config_error(tmp_path: Path, kwargs: dict) -> None:
    options = {"n": 1, "seed": 0} | kwargs
    with pytest.raises(ConfigError):
        generate(tmp_path, **options)


# --- masks and labels -----------------------------------------------------------------------------


def test_polygons_redraw_the_exact_visible_masks(made) -> None:
    for scene, annotation, _ in made:
        for obj in scene.objects:
            for part, exact in zip(obj.parts, obj.part_masks, strict=True):
                assert exact.sum() > 0
                drawn = focus_mask(annotation, obj.part_label(part))
                iou = (drawn & exact).sum() / (drawn | exact).sum()
                assert iou >= 0.9, (obj.part_label(part), iou)
            assert np.array_equal(focus_mask(annotation, obj.label), obj.mask)


def test_polygons_lie_inside_the_image(made) -> None:
    for scene, annotation, _ in made:
        points = np.concatenate([np.asarray(s["points"]) for s in annotation["shapes"]])
        assert points.min() >= 0 and points.max() <= scene.size - 1
        assert all(len(s["points"]) >= 3 for s in annotation["shapes"])


def test_focus_selects_exactly_the_target_polygons(made) -> None:
    for _, annotation, dialogues in made:
        for d in dialogues:
            focus = d.sample.focus.lower()
            selected = {s["label"] for s in annotation["shapes"] if focus in s["label"].lower()}
            assert selected == d.target.labels
            assert focus_mask(annotation, d.sample.focus).any()


def test_no_object_label_contains_another_objects_focus(made) -> None:
    for _, annotation, _ in made:
        groups = {}
        for s in annotation["shapes"]:
            groups.setdefault(s["group_id"], set()).add(s["label"].lower())
        for group, labels in groups.items():
            prefix = " ".join(next(iter(labels)).split()[:3])  # "obj03 red mug"
            others = set().union(*(v for k, v in groups.items() if k != group))
            assert not any(prefix in label for label in others)


def test_ids_are_delimited_so_that_obj1_is_not_in_obj12() -> None:
    no_mask = (np.zeros((1, 1), dtype=bool),)
    objects = [
        SceneObject(i, "circle", "red", "small", "plain", ("",), no_mask) for i in range(1, 130)
    ]
    for a in objects:
        hits = [b.index for b in objects if a.label.lower() in b.label.lower()]
        assert hits == [a.index]
    assert objects[0].label == "obj01 red circle"


def test_a_ring_is_cut_into_hole_free_pieces() -> None:
    yy, xx = np.mgrid[:40, :40]
    ring = np.hypot(yy - 20, xx - 20)
    ring = (ring <= 12) & (ring >= 6)
    pieces = hole_free_pieces(ring)
    assert len(pieces) >= 2
    assert np.array_equal(np.logical_or.reduce(pieces), ring)
    annotation = {"shapes": shapes_of_mask(ring, "ring"), "imageHeight": 40, "imageWidth": 40}
    assert np.array_equal(focus_mask(annotation, "ring"), ring)


def test_every_kind_has_named_parts_that_do_not_contain_each_other() -> None:
    for kind, spec in KINDS.items():
        assert len(spec.parts) == len(spec.tones), kind
        for a in spec.parts:
            assert sum(a in b for b in spec.parts) == 1, (kind, a)


# --- dialogues --------------------------------------------------------------------------------


def test_dialogues_alternate_and_end_with_one_seg(made) -> None:
    for _, _, dialogues in made:
        for d in dialogues:
            turns = d.sample.dialogue
            assert [t.role for t in turns] == ["human", "gpt"] * (len(turns) // 2)
            assert turns[-1].text.count("[SEG]") == 1
            assert all("[SEG]" not in t.text and "[OBJ]" not in t.text for t in turns[:-1])
            reasoning_pairs = len(turns) // 2 - 1
            assert reasoning_pairs == 0 if d.style == "short" else 2 <= reasoning_pairs <= 4


def test_final_answers_are_prist_phrasings_or_name_the_target(made) -> None:
    requests = Counter()
    for _, _, dialogues in made:
        for d in dialogues:
            answer = d.sample.dialogue[-1].text
            named = re.fullmatch(r"(.*)\[OBJ\](.+)\[SEG\](.*)", answer)
            if named:
                assert named[1] + "[SEG]" + named[3] in ANSWER_LIST
                assert d.target.obj.kind in named[2] and d.target.obj.colour in named[2]
                assert d.target.part in named[2]
            else:
                assert answer in ANSWER_LIST
            if d.style != "short":
                requests[d.sample.dialogue[-2].text in PRIST_REQUESTS] += 1
                assert "[SEG]" not in d.sample.dialogue[-2].text
    assert requests[True] > 0 and requests[False] > 0


def test_answer_form_follows_obj_answer_share() -> None:
    for share, expected in ((0.0, False), (1.0, True)):
        for seed in range(10):
            _, _, samples = generate_sample(np.random.default_rng(seed), obj_answer_share=share)
            assert all(("[OBJ]" in s.dialogue[-1].text) == expected for s in samples)


def test_target_mix_has_parts_short_requests_and_every_style(made) -> None:
    dialogues = [d for _, _, ds in made for d in ds]
    styles = Counter(d.style for d in dialogues)
    assert set(styles) == {"attribute", "relation", "function", "short"}
    assert 0.1 <= styles["short"] / len(dialogues) <= 0.3
    part_share = sum(bool(d.target.part) for d in dialogues) / len(dialogues)
    assert 0.3 <= part_share <= 0.7


def test_spatial_statements_are_true_on_the_drawn_masks(made) -> None:
    checked = 0
    for scene, annotation, dialogues in made:
        centroid = {o.index: mask_centroid(focus_mask(annotation, o.label)) for o in scene.objects}
        for d in dialogues:
            text = " ".join(t.text for t in d.sample.dialogue)
            for step in d.steps:
                if step.filter == "relation":
                    _check_relation(step, centroid, scene.size, text)
                    checked += 1
                elif step.filter == "extreme":
                    _check_extreme(step, annotation, scene.size)
                    checked += 1
    assert checked > 20


def _check_relation(step, centroid, size: int, text: str) -> None:
    slack = 1.0  # polygons may move a centroid by a fraction of a pixel
    ax, ay = centroid[step.anchor.index]
    for obj in step.before:
        if obj is step.anchor:
            continue
        x, y = centroid[obj.index]
        offset = {"left": ax - x, "right": x - ax, "above": ay - y, "below": y - ay}[step.value]
        assert abs(offset) >= POSITION_MARGIN * size - slack
        assert (offset > 0) == (obj in step.after)
        assert offset == pytest.approx(directional_offset(obj, step.anchor, step.value), abs=slack)
    assert DIRECTION_WORDS[step.value] in text


def _check_extreme(step, annotation: dict, size: int) -> None:
    def score(obj: SceneObject) -> float:
        mask = focus_mask(annotation, obj.label)
        x, y = mask_centroid(mask)
        values = {
            "leftmost": -x,
            "rightmost": x,
            "topmost": -y,
            "lowest": y,
            "largest": np.log(mask.sum()),
            "smallest": -np.log(mask.sum()),
        }
        return float(values[step.value])

    winner = step.after[0]
    others = [score(o) for o in step.before if o is not winner]
    assert score(winner) - max(others) >= extreme_margin(step.value, size) * 0.9
    assert score(winner) == pytest.approx(extreme_score(winner, step.value), abs=1.0)


def test_dialogues_mention_only_objects_in_the_scene(made) -> None:
    all_kinds = set(KINDS)
    all_colours = set(BASE_COLOURS) | set(SHIFTED_COLOURS)
    for scene, _, dialogues in made:
        present = {(o.colour, o.kind) for o in scene.objects}
        kinds = {o.kind for o in scene.objects}
        for d in dialogues:
            text = " ".join(t.text for t in d.sample.dialogue).lower()
            for kind in all_kinds:
                if re.search(rf"\b({kind}|{plural(kind)})\b", text):
                    assert kind in kinds, (kind, text)
            for colour, kind in re.findall(r"\b(\w+) (\w+)\b", text):
                if colour in all_colours and kind in all_kinds:
                    assert (colour, kind) in present, (colour, kind, text)


def test_shifted_domain_has_other_kinds_and_colours(made) -> None:
    base = [o for scene, _, _ in made if scene.domain == "base" for o in scene.objects]
    shifted = [o for scene, _, _ in made if scene.domain == "shifted" for o in scene.objects]
    new_kinds = set(SHIFTED_SHAPE_KINDS + SHIFTED_THING_KINDS)
    new_colours = set(SHIFTED_COLOURS) - set(BASE_COLOURS)
    assert not any(o.kind in new_kinds or o.colour in new_colours for o in base)
    assert sum(o.kind in new_kinds for o in shifted) / len(shifted) > 0.3
    assert sum(o.colour in new_colours for o in shifted) / len(shifted) > 0.1
    assert {o.texture for o in shifted} - {o.texture for o in base} == {"checked", "wavy"}
    assert BASE_COLOURS["red"] != SHIFTED_COLOURS["red"]
