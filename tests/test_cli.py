"""The `miras` command line: chat in the terminal and evaluation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import BOX_DIALOGUE, box_scene
from PIL import Image

from miras.cli import main
from miras.prist import PristSample, Turn, annotation_for, mask_to_shapes, write_prist


def test_chat_answers_and_saves_masks_beside_the_image(trained_tiny, tmp_path, capsys):
    image, mask = box_scene()
    Image.fromarray(image).save(tmp_path / "scene.png")
    questions = [text for role, text in BOX_DIALOGUE if role == "human"]
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "scene.png")]
    assert main(argv + sum((["-m", q] for q in questions), [])) == 0
    out = capsys.readouterr().out
    assert "miras> A red box on grey." in out
    assert "miras> Sure, it is the red box." in out
    saved = np.asarray(Image.open(tmp_path / "scene.turn2.mask1.png")) > 0
    assert (saved & mask).sum() / (saved | mask).sum() > 0.9
    assert not (tmp_path / "scene.turn1.mask1.png").exists()


def test_chat_reports_a_bad_image_without_a_traceback(trained_tiny, tmp_path, capsys):
    assert main(["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "nope.png"), "-m", "hi"]) == 2
    assert "is not a file" in capsys.readouterr().err



def test_chat_reports_a_damaged_model_without_a_traceback(tmp_path, capsys):
    from miras.checkpoint import build, save_pretrained

    folder = save_pretrained(build("tiny", seed=0), tmp_path / "ckpt")
    (folder / "model.safetensors").write_bytes(b"")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "scene.png")
    assert main(["chat", "--model", str(folder), "--image", str(tmp_path / "scene.png"), "-m", "hi"]) == 2
    assert "model.safetensors is damaged" in capsys.readouterr().err


def test_chat_goes_on_after_a_turn_that_fails(trained_tiny, tmp_path, capsys):
    Image.fromarray(box_scene()[0]).save(tmp_path / "scene.png")
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "scene.png")]
    assert main(argv + ["-m", "why " * 400, "-m", "What is in the picture?"]) == 2
    captured = capsys.readouterr()
    assert "context holds" in captured.err and "/reset" in captured.err
    assert "chat.reset()" not in captured.err  # a Python call, no use in the terminal
    assert "miras> A red box on grey." in captured.out


def test_chat_reads_a_photo_upright_by_its_exif_orientation(trained_tiny, tmp_path, capsys):
    image, mask = box_scene()
    photo = Image.fromarray(np.rot90(image))  # stored on its side, as a phone does
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    photo.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "photo.jpg")]
    assert main(argv + ["-m", "What is in the picture?", "-m", "Segment the red box."]) == 0
    saved = np.asarray(Image.open(tmp_path / "photo.turn2.mask1.png")) > 0
    assert saved.shape == mask.shape
    assert (saved & mask).sum() / (saved | mask).sum() > 0.9


def _write_files(folder):
    import tifffile

    tifffile.imwrite(folder / "stack.tif", np.zeros((5, 40, 52), np.uint16))
    Image.fromarray(box_scene()[0]).save(folder / "scene.png")
    (folder / "notes.png").write_text("not an image")


@pytest.mark.parametrize(
    ("name", "plane", "message"),
    [
        ("stack.tif", "9", "--plane 9 is out of range: .* has planes 0 to 4"),
        ("stack.tif", None, "stack of 5 planes; choose one with --plane"),
        ("scene.png", "0", "not a stack; leave out --plane"),
        ("notes.png", None, "cannot read .*notes.png as an image"),
    ],
)
def test_chat_refuses_a_bad_plane_or_file_without_a_traceback(trained_tiny, tmp_path, capsys, name, plane, message):
    _write_files(tmp_path)
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / name), "-m", "hi"]
    assert main(argv + (["--plane", plane] if plane else [])) == 2
    assert re.search(message, capsys.readouterr().err)


def test_chat_talks_about_the_chosen_plane_of_a_stack(trained_tiny, tmp_path, capsys):
    _write_files(tmp_path)
    argv = ["chat", "--model", str(trained_tiny), "--image", str(tmp_path / "stack.tif")]
    assert main(argv + ["--plane", "4", "-m", "What is in the picture?"]) == 0
    assert "miras> " in capsys.readouterr().out


def _box_dataset(root, n_dialogues: int = 2):
    image, mask = box_scene()
    dialogue = tuple(Turn(role, text) for role, text in BOX_DIALOGUE)
    samples = [PristSample("0000000000000001.png", dialogue, "red box")] * n_dialogues
    shapes = mask_to_shapes(mask, "the red box")
    annotation = annotation_for(shapes, *mask.shape)
    write_prist(root, samples, {samples[0].img_id: image}, {samples[0].img_id: annotation})
    return root


def _strict_json(text: str):
    """Python's json.loads takes NaN and Infinity, which no other JSON reader does."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_eval_prints_every_metric_as_json(trained_tiny, tmp_path, capsys):
    data = _box_dataset(tmp_path / "data")
    assert main(["eval", "--model", str(trained_tiny), "--data", str(data), "--json", "--no-text"]) == 0
    scores = _strict_json(capsys.readouterr().out)
    assert list(scores) == ["ciou", "giou", "precision", "recall", "f1", "bleu4", "rouge_l",
                            "meteor", "dist1", "dist2", "n"]
    assert scores["n"] == 2
    assert scores["ciou"] > 0.9 and scores["giou"] > 0.9 and scores["f1"] > 0.9
    # --no-text skips the caption toolkit; the distinct n-grams need none.
    assert scores["bleu4"] is None and scores["rouge_l"] is None and scores["meteor"] is None
    assert 0 < scores["dist1"] <= 1 and 0 < scores["dist2"] <= 1


def test_eval_of_an_empty_set_prints_null_scores_as_json(tmp_path, capsys):
    write_prist(tmp_path / "empty", [], {}, {})
    assert main(["eval", "--model", "tiny", "--data", str(tmp_path / "empty"), "--json"]) == 0
    scores = _strict_json(capsys.readouterr().out)
    assert scores.pop("n") == 0
    assert set(scores.values()) == {None}


def test_json_output_writes_nested_nan_and_infinity_as_null(capsys):
    from miras.commands import print_json

    print_json({"out": "run", "metrics": {"giou": float("nan"), "losses": [1.5, float("inf")]}})
    assert _strict_json(capsys.readouterr().out) == {"out": "run", "metrics": {"giou": None, "losses": [1.5, None]}}


@pytest.mark.slow
def test_eval_scores_the_reasoning_replies_with_the_caption_metrics(trained_tiny, tmp_path, capsys):
    data = _box_dataset(tmp_path / "data", n_dialogues=1)
    assert main(["eval", "--model", str(trained_tiny), "--data", str(data), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    # The model learned the one reasoning answer word for word.
    assert scores["bleu4"] > 0.9 and scores["rouge_l"] > 0.9 and scores["meteor"] > 0.9
