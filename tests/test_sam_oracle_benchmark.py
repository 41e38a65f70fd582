"""`benchmarks/sam_oracle.py`: a fresh SAM prompted with the exact name, the ceiling of the SAM side."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from miras.training.data import SynthSource

_BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("sam_oracle", _BENCHMARKS / "sam_oracle.py")
sam_oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sam_oracle)


def test_kind_only_names_lose_their_colour_words_alone():
    colours = {"blue", "red"}
    assert sam_oracle.oracle_words("the large Blue star", colours) == ["the", "large", "blue", "star"]
    assert sam_oracle.oracle_words("the large Blue star", colours, kind_only=True) == ["the", "large", "star"]
    assert sam_oracle.oracle_words("the roof of the red house", colours, kind_only=True) == [
        "the", "roof", "of", "the", "house"]


def test_the_word_bag_gives_one_prompt_per_name_and_the_same_for_the_same_words():
    bag = sam_oracle.WordBag(dim=8, capacity=4)
    prompts = bag([["the", "star"], ["star", "the"], ["the", "ring"]])
    assert prompts.shape == (3, 8)
    assert (prompts[0] == prompts[1]).all() and not (prompts[0] == prompts[2]).all()
    with pytest.raises(ValueError, match="more than 4"):
        bag([["a", "b", "c"]])


def test_a_wider_encoder_is_built_as_asked():
    config = sam_oracle.sam_config("demo", "192,6")
    assert (config.encoder_embed_dim, config.encoder_depth, config.encoder_num_heads) == (192, 6, 6)
    assert config.encoder_global_attn_indexes == (2, 5)
    assert sam_oracle.sam_config("demo", None) == sam_oracle.sam_config("demo", "")


def test_the_oracle_learns_and_reports_its_curve(monkeypatch):
    monkeypatch.syspath_prepend(str(_BENCHMARKS))
    args = sam_oracle.parse(["--preset", "tiny", "--steps", "40", "--batch", "4", "--eval-every", "20",
                             "--dialogues", "6", "--threads", "1"])
    figures = sam_oracle.run(args, log=lambda line: None)
    first, last = figures["curve"]
    assert (first["step"], last["step"]) == (20, 40)
    assert last["loss"] < first["loss"]  # the same kind of items, so a falling loss is learning
    assert 0 <= last["ciou"] <= 1 and "whole_colour_shared_on_target" in last


def test_kind_first_drops_colours_from_the_first_training_steps_only(monkeypatch):
    monkeypatch.syspath_prepend(str(_BENCHMARKS))
    seen, words = [], sam_oracle.oracle_words

    def spy(phrase, colours, kind_only=False):
        seen.append(kind_only)
        return words(phrase, colours, kind_only)

    monkeypatch.setattr(sam_oracle, "oracle_words", spy)
    args = sam_oracle.parse(["--preset", "tiny", "--steps", "4", "--kind-first", "2", "--batch", "1",
                             "--eval-every", "4", "--dialogues", "1", "--threads", "1"])
    figures = sam_oracle.run(args, log=lambda line: None)
    assert seen == [True, True, False, False, False]  # 4 training steps, then the held-out item
    assert figures["kind_first"] == 2


def test_the_oracle_runs_in_float32_where_bf16_would_be_emulated(monkeypatch):
    # On an AVX2-only CPU, 40 demo steps and a judgement took 4 min with bf16 autocast, 40 s without.
    monkeypatch.setattr("miras.training.precision.native_bf16", lambda device: False)
    from miras.presets import preset

    with pytest.warns(UserWarning, match="float32"):
        oracle = sam_oracle.OracleSam(preset("tiny").sam)
    dtypes = []
    oracle.sam.image_encoder.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    source = SynthSource(0, stage=0, size=oracle.config.image_size, obj_answer_share=1.0)
    oracle.logits([source.item(0)], kind_only=False)
    assert not oracle.bf16 and dtypes == [torch.float32]
