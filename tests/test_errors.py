"""Every bad input gets a MirasError that says what was wrong and what to do."""

from __future__ import annotations

import json

import numpy as np
import pytest

import miras
from miras.checkpoint import save_pretrained
from miras.config import MirasConfig
from miras.errors import CheckpointError, ConfigError, ContextLengthError, ImageError, TextError


@pytest.mark.parametrize(
    ("image", "hint"),
    [
        (np.zeros((4, 8, 8, 3), np.uint8), "pass one plane"),
        (np.zeros((8, 8, 8), np.uint8), "3D stack: pass one plane"),
        (np.zeros((3, 16, 16), np.uint8), "channel-first"),
        (np.full((8, 8), np.nan, np.float32), "NaN"),
        (np.zeros((0, 8), np.uint8), "empty"),
        (np.zeros((8, 8), np.complex64), "not supported"),
        (np.zeros(5, np.uint8), "one 2D plane"),
    ],
)
def test_bad_images_are_refused_with_what_to_do(tiny_model, image, hint):
    with pytest.raises(ImageError, match=hint):
        tiny_model.chat(image)


@pytest.mark.parametrize("text", ["", "   \n", None])
def test_empty_messages_are_refused(tiny_model, rgb_image, text):
    with pytest.raises(TextError, match="empty"):
        tiny_model.chat(rgb_image).send(text)


def test_a_message_longer_than_the_context_is_refused_and_the_chat_survives(tiny_model, rgb_image):
    chat = tiny_model.chat(rgb_image, max_new_tokens=4)
    with pytest.raises(ContextLengthError, match="context holds 1024.*start a new conversation"):
        chat.send("why " * 400)
    assert chat.history == []
    assert chat.send("What is this?").raw is not None
    assert len(chat.history) == 2


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "tokenizer.json"])
def test_a_checkpoint_missing_a_file_names_it(tiny_model, tmp_path, missing):
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    (folder / missing).unlink()
    with pytest.raises(CheckpointError, match=missing.replace(".", r"\.")):
        miras.load(folder)



@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("model.safetensors", lambda data: bytes(range(256)) * 4),
        ("model.safetensors", lambda data: data[: len(data) // 2]),
        ("model.safetensors", lambda data: b""),
        ("tokenizer.json", lambda data: b"garbage{"),
        ("tokenizer_config.json", lambda data: b"{bad"),
        ("tokenizer_config.json", lambda data: b"[1, 2]"),
        ("config.json", lambda data: b"[1, 2]"),
    ],
    ids=["corrupt-weights", "truncated-weights", "empty-weights", "tokenizer", "tokenizer-config",
         "tokenizer-config-list", "config-list"],
)
def test_a_damaged_checkpoint_file_is_named_with_what_to_do(tiny_model, tmp_path, name, damage):
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    path = folder / name
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=rf"{name.replace('.', '[.]')} is damaged.*re-export"):
        miras.load(folder)


def test_a_tokenizer_that_transformers_cannot_read_is_refused_as_damaged(tiny_model, tmp_path):
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')  # valid JSON, not a tokenizer
    with pytest.raises(CheckpointError, match="tokenizer files in .* are damaged.*re-export"):
        miras.load(folder)


def test_weights_that_do_not_fit_the_config_are_refused(tiny_model, tmp_path):
    folder = save_pretrained(tiny_model, tmp_path / "ckpt")
    config = json.loads((folder / "config.json").read_text())
    config["seg_head_note"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="unknown keys"):
        miras.load(folder)
    config.pop("seg_head_note")
    config["sam"]["prompt_dim"] = 16
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not fit its config"):
        miras.load(folder)


def test_unknown_names_and_folders(tmp_path):
    with pytest.raises(CheckpointError, match="not a folder"):
        miras.load(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="is a size, not weights"):
        miras.load("miras-7b")
    with pytest.raises(ConfigError, match="unknown preset"):
        miras.preset("huge")


def test_registry_folder_loads_its_current_version(tiny_model, tmp_path):
    save_pretrained(tiny_model, tmp_path / "reg" / "v0001")
    (tmp_path / "reg" / "current").write_text("v0001\n")
    loaded = miras.load(tmp_path / "reg")
    assert loaded.config.to_dict() == tiny_model.config.to_dict()
    # miras-al takes a registry as a file:// URL too; the model loads from it alike
    assert miras.load(f"file://{tmp_path}/reg").config.to_dict() == tiny_model.config.to_dict()
    with pytest.raises(CheckpointError, match="copy or mount it"):
        miras.load("s3://bucket/reg")
    (tmp_path / "reg" / "current").write_text("../elsewhere")
    with pytest.raises(CheckpointError, match="no valid version"):
        miras.load(tmp_path / "reg")


def test_config_round_trips_through_json(tmp_path):
    config = miras.preset("miras-7b")
    config.save(tmp_path / "config.json")
    assert MirasConfig.load(tmp_path / "config.json") == config
    assert config.num_image_tokens == 576 and config.convnext.out_channels == 2880


@pytest.mark.parametrize("device", ["foo", "cuda:99"])
def test_a_device_that_is_not_there_is_named_with_what_to_pass(device):
    with pytest.raises(ConfigError, match=f"'{device}'"):
        miras.load("tiny", device=device)


def test_a_dtype_may_be_given_by_name():
    import torch

    assert next(miras.load("tiny", dtype="bfloat16").parameters()).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="not a torch dtype"):
        miras.load("tiny", dtype="float99")
