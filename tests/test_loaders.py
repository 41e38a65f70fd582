"""Real-checkpoint loaders: each source is written by its own library in its own format.

Every source model has all of its tensors randomised before saving, so "equal after loading"
cannot hold by accident (SAM's zero position embeddings, LayerNorm ones, ...).
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import miras
from miras.checkpoint import build, save_pretrained
from miras.errors import CheckpointError, ConfigError
from miras.loaders import (
    from_components,
    load_authors_checkpoint,
    load_clip_folder,
    load_llm_folder,
    load_open_clip_convnext,
    load_sam_checkpoint,
)
from miras.presets import tiny

CONFIG = tiny()
N_MIRAS_TOKENS = len(CONFIG.tokens.added())


# --- helpers -------------------------------------------------------------------------------------
def randomised(module: nn.Module, seed: int) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
    return module


def assert_same(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> None:
    """Same keys, equal values."""
    assert sorted(ours) == sorted(theirs)
    unequal = [key for key in theirs if not torch.equal(ours[key], theirs[key])]
    assert not unequal, unequal[:5]


def without_vision_model(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CLIP keys with transformers 4's `vision_model.` level removed (5.x saves them flat)."""
    return {key.replace("vision_model.", ""): value for key, value in state.items()}


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in module.state_dict().items()}


def plain_tokenizer(extra: tuple[str, ...] = ()):
    """A byte-level tokenizer as a base LLM ships it: no MIRAS tokens yet."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate(["<unk>", "<s>", "</s>", *alphabet])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.add_tokens(list(extra), special_tokens=True)
    return tokenizer


def llama_config(vocab_size: int):
    from transformers import LlamaConfig

    text = CONFIG.text
    sizes = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
    # rms_norm_eps differs from the preset's on purpose: from_components must take the folder's.
    return LlamaConfig(
        vocab_size=vocab_size,
        num_key_value_heads=text["num_key_value_heads"],
        rms_norm_eps=1e-6,
        bos_token_id=1,
        eos_token_id=2,
        **{name: text[name] for name in sizes},
    )


# --- sources, each written by its own library --------------------------------------------------
@pytest.fixture(scope="module")
def sam_source() -> nn.Module:
    """segment-anything's own modules at the tiny sizes (as its `_build_sam` wires them)."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    c = CONFIG.sam
    grid = c.image_size // c.patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=c.encoder_depth,
            embed_dim=c.encoder_embed_dim,
            img_size=c.image_size,
            mlp_ratio=4,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            num_heads=c.encoder_num_heads,
            patch_size=c.patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=c.encoder_global_attn_indexes,
            window_size=c.window_size,
            out_chans=c.prompt_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=c.prompt_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(c.image_size, c.image_size),
            mask_in_chans=c.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=c.decoder_depth,
                embedding_dim=c.prompt_dim,
                mlp_dim=c.decoder_mlp_dim,
                num_heads=c.decoder_num_heads,
            ),
            transformer_dim=c.prompt_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=c.iou_head_hidden_dim,
        ),
    )
    return randomised(sam, seed=11)


@pytest.fixture(scope="module")
def sam_pth(sam_source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sam") / "sam_vit_tiny.pth"
    torch.save(sam_source.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def clip_source() -> nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    return randomised(CLIPVisionModel(CLIPVisionConfig(**CONFIG.clip)), seed=12)


@pytest.fixture(scope="module")
def clip_folder(clip_source, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clip-vision")
    clip_source.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def llama_source(tmp_path_factory) -> tuple[Path, nn.Module, int]:
    """A LLaMA folder with its tokenizer: (folder, model, tokenizer length before MIRAS)."""
    from transformers import LlamaForCausalLM

    tokenizer = plain_tokenizer()
    llm = randomised(LlamaForCausalLM(llama_config(len(tokenizer))), seed=13)
    folder = tmp_path_factory.mktemp("llama")
    llm.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, llm, len(tokenizer)


@pytest.fixture(scope="module")
def open_clip_source(tmp_path_factory) -> tuple[Path, nn.Module]:
    """open_clip's own factory and HF writer, for a config shaped like convnext_large_d_320."""
    import open_clip
    from open_clip.push_to_hf_hub import save_for_hf

    trunk = _register_tiny_timm_convnext()
    model_cfg = {
        "embed_dim": 16,
        "vision_cfg": {
            "timm_model_name": trunk,
            "timm_model_pretrained": False,
            "timm_pool": "",
            "timm_proj": "mlp",
            "timm_drop": 0.0,
            "timm_drop_path": 0.1,
            "image_size": CONFIG.convnext.image_size,
        },
        "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
    }
    configs = tmp_path_factory.mktemp("open_clip_configs")
    (configs / "miras_test_convnext_d.json").write_text(json.dumps(model_cfg))
    open_clip.add_model_config(configs)
    model = randomised(open_clip.create_model("miras_test_convnext_d"), seed=14)
    folder = tmp_path_factory.mktemp("open_clip")
    save_for_hf(model, _NoTokenizer(), model_cfg, str(folder), safe_serialization="both")
    return folder, model


class _NoTokenizer:
    """save_for_hf saves a tokenizer beside the weights; ours has none to save."""

    def save_pretrained(self, folder: str) -> None:
        pass


def _register_tiny_timm_convnext() -> str:
    from timm.models import build_model_with_cfg, is_model, register_model
    from timm.models.convnext import ConvNeXt

    name = "miras_test_convnext"
    if not is_model(name):

        def miras_test_convnext(pretrained: bool = False, **kwargs) -> ConvNeXt:
            args = dict(depths=CONFIG.convnext.depths, dims=CONFIG.convnext.dims)
            return build_model_with_cfg(ConvNeXt, name, pretrained, **args, **kwargs)

        register_model(miras_test_convnext)
    return name


# --- the authors' export: built from a tiny model by the inverse of reference §7.3 -------------
AUTHORS_NAMES = [  # ours -> theirs
    ("sam.", "model.visual_model."),
    ("seg_head.", "model.text_hidden_fcs.0."),
    ("mm_projector.", "model.mm_projector."),
    ("fusion.query_projector.", "model.vlm_uni_query_projector."),
    ("fusion.aux_projector.", "model.vlm_uni_aux_projector."),
    ("fusion.val_projector.", "model.vlm_uni_val_projector."),
    ("vision_tower.model.", "model.vision_tower.vision_tower.vision_model."),
    ("llm.model.", "model."),
    ("llm.lm_head.", "lm_head."),
]
NOT_EXPORTED = ("vision_tower_aux.", "region_alignment.")


def authors_state(model: nn.Module) -> dict[str, torch.Tensor]:
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith(NOT_EXPORTED):
            continue
        ours, theirs = next(rule for rule in AUTHORS_NAMES if key.startswith(rule[0]))
        name = (theirs + key[len(ours) :]).replace("vision_model.vision_model.", "vision_model.")
        state[name] = value.clone()
    return state


def mgm_config(model: nn.Module) -> dict:
    """config.json as the authors' export writes it: LLaMA fields at top level, model_type mgm."""
    llm = model.llm.config
    fields = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
    fields += ("num_key_value_heads", "rms_norm_eps", "max_position_embeddings", "vocab_size")
    return {
        "model_type": "mgm",
        "architectures": ["MgmsaForCausalLM"],
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_hidden_size": CONFIG.clip_hidden,
        "out_dim": CONFIG.sam.prompt_dim,
        **{name: getattr(llm, name) for name in fields},
    }


def save_sharded(state: dict[str, torch.Tensor], folder: Path, shards: int = 3) -> None:
    keys = sorted(state)
    weight_map = {}
    for i in range(shards):
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {key: state[key].contiguous() for key in keys[i::shards]}
        save_file(part, folder / name, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, name))
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, nn.Module]:
    source = build(CONFIG, seed=1)
    folder = tmp_path_factory.mktemp("authors")
    save_sharded(authors_state(source), folder)
    (folder / "config.json").write_text(json.dumps(mgm_config(source)))
    return folder, source


def state_of(model: nn.Module, *parts: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if k.split(".", 1)[0] in parts}


# --- segment-anything ----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_sam_checkpoint_fills_sam(sam_source, sam_pth, tmp_path, suffix):
    path = sam_pth
    if suffix == ".safetensors":
        path = tmp_path / "sam.safetensors"
        save_file(sam_source.state_dict(), path)
    model = build(CONFIG)
    report = load_sam_checkpoint(model, path)
    assert_same(model.sam.state_dict(), sam_source.state_dict())
    assert report.loaded == {"sam": str(path)}
    assert "sam" not in report.random and "llm" in report.random


def _wrong_shape(state):
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, CONFIG.sam.prompt_dim + 1)


def _missing(state):
    del state["mask_decoder.iou_token.weight"]


def _unexpected(state):
    state["mask_decoder.extra.weight"] = torch.zeros(2)


@pytest.mark.parametrize(
    ("corrupt", "named"),
    [
        (_wrong_shape, "mask_decoder.iou_token.weight"),
        (_missing, "mask_decoder.iou_token.weight"),
        (_unexpected, "mask_decoder.extra.weight"),
    ],
)
def test_sam_checkpoint_that_does_not_fit_is_refused_untouched(
    sam_source, tmp_path, corrupt, named
):
    state = dict(sam_source.state_dict())
    corrupt(state)
    torch.save(state, tmp_path / "sam.pth")
    model = build(CONFIG)
    before = snapshot(model)
    with pytest.raises(CheckpointError, match=named.replace(".", r"\.")):
        load_sam_checkpoint(model, tmp_path / "sam.pth")
    assert_same(model.state_dict(), before)


class _MakesFolder:
    """Unpickling this would create a folder: the proof that no code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (str(self.path),))


def test_pickle_with_an_object_is_refused_without_running_it(sam_source, tmp_path):
    marker = tmp_path / "code-ran"
    state = dict(sam_source.state_dict(), payload=_MakesFolder(marker))
    torch.save(state, tmp_path / "sam.pth")
    with pytest.raises(CheckpointError, match="makedirs.*not unpickled"):
        load_sam_checkpoint(build(CONFIG), tmp_path / "sam.pth")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("load", "given", "expected"),
    [
        (load_sam_checkpoint, "sam_vit_h_4b8939.pth", "sam_vit_h_4b8939.pth"),
        (load_clip_folder, "", "model.safetensors"),
        (load_llm_folder, "", "pytorch_model.bin"),
        (load_open_clip_convnext, "", "open_clip_pytorch_model.bin"),
        (load_authors_checkpoint, "", "model.safetensors.index.json"),
    ],
)
def test_missing_file_names_what_was_expected(tmp_path, load, given, expected):
    with pytest.raises(CheckpointError, match=expected.replace(".", r"\.")):
        load(build(CONFIG), tmp_path / given)


# --- CLIP ----------------------------------------------------------------------------------------
def test_clip_vision_folder_fills_the_clip_tower(clip_source, clip_folder):
    model = build(CONFIG)
    report = load_clip_folder(model, clip_folder)
    assert_same(
        without_vision_model(model.vision_tower.model.state_dict()),
        without_vision_model(clip_source.state_dict()),
    )
    assert report.loaded == {"vision_tower": str(clip_folder / "model.safetensors")}


def test_full_clip_model_folder_gives_its_vision_tower(tmp_path):
    from transformers import CLIPConfig, CLIPModel

    text = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1}
    text |= {"num_attention_heads": 2, "vocab_size": 64, "bos_token_id": 0, "eos_token_id": 1}
    config = CLIPConfig(vision_config=CONFIG.clip, text_config=text, projection_dim=16)
    source = randomised(CLIPModel(config), seed=15)
    source.save_pretrained(tmp_path)
    model = build(CONFIG)
    load_clip_folder(model, tmp_path)
    assert_same(
        without_vision_model(model.vision_tower.model.state_dict()),
        without_vision_model(source.vision_model.state_dict()),
    )


def test_clip_folder_of_another_size_is_refused_naming_the_field(tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    CLIPVisionModel(CLIPVisionConfig(**{**CONFIG.clip, "image_size": 64})).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="image_size 64 there, 32 in the model"):
        load_clip_folder(build(CONFIG), tmp_path)


# --- LLaMA and LLaVA -----------------------------------------------------------------------------
def test_llama_folder_gets_miras_tokens_and_keeps_its_rows(llama_source):
    folder, source, vocab = llama_source
    model, report = from_components("tiny", llm=folder)
    assert len(model.tokenizer) == vocab + N_MIRAS_TOKENS
    assert min(vars(model.token_ids)[name] for name in ("seg", "obj", "image")) >= vocab
    assert model.llm.config.rms_norm_eps == 1e-6  # the folder's, not the preset's
    embeddings = ("model.embed_tokens.weight", "lm_head.weight")
    ours, theirs = model.llm.state_dict(), source.state_dict()
    for key in embeddings:
        assert ours[key].shape[0] == vocab + N_MIRAS_TOKENS
        assert torch.equal(ours[key][:vocab], theirs[key])
    assert_same(
        {k: v for k, v in ours.items() if k not in embeddings},
        {k: v for k, v in theirs.items() if k not in embeddings},
    )
    assert report.loaded == {"llm": str(folder / "model.safetensors")}
    assert "sam" in report.random


def test_tied_llama_folder_fills_the_tied_head(tmp_path):
    from transformers import LlamaForCausalLM

    tokenizer = plain_tokenizer()
    config = llama_config(len(tokenizer))
    config.tie_word_embeddings = True
    source = randomised(LlamaForCausalLM(config), seed=17)
    source.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, _ = from_components("tiny", llm=tmp_path)
    head, embeddings = model.llm.lm_head.weight, model.llm.model.embed_tokens.weight
    assert head.data_ptr() == embeddings.data_ptr()
    assert torch.equal(head[: len(tokenizer)], source.model.embed_tokens.weight)


def test_transformers_llava_folder_fills_llm_projector_and_clip(tmp_path):
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    tokenizer = plain_tokenizer(extra=("<image>",))
    padded = len(tokenizer) + 8  # llava-hf pads its vocabulary (32064 rows for 32002 tokens)
    config = LlavaConfig(
        vision_config={"model_type": "clip_vision_model", **CONFIG.clip},
        text_config=llama_config(padded).to_dict(),
        image_token_index=len(tokenizer) - 1,
    )
    source = randomised(LlavaForConditionalGeneration(config), seed=16)
    source.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)

    model, report = from_components("tiny", llm=tmp_path)
    rows = len(model.tokenizer)  # <image> was there already: 4 new tokens, fewer than the padding
    assert rows == len(tokenizer) + N_MIRAS_TOKENS - 1 < padded
    ours, theirs = model.llm.state_dict(), source.model.language_model.state_dict()
    assert torch.equal(ours["model.embed_tokens.weight"], theirs["embed_tokens.weight"][:rows])
    assert torch.equal(ours["lm_head.weight"], source.lm_head.weight[:rows])
    assert_same(
        {k: v for k, v in model.llm.model.state_dict().items() if "embed_tokens" not in k},
        {k: v for k, v in theirs.items() if "embed_tokens" not in k},
    )
    projector = source.model.multi_modal_projector
    assert_same(model.mm_projector[0].state_dict(), projector.linear_1.state_dict())
    assert_same(model.mm_projector[2].state_dict(), projector.linear_2.state_dict())
    assert_same(
        without_vision_model(model.vision_tower.model.state_dict()),
        without_vision_model(source.model.vision_tower.state_dict()),
    )
    assert sorted(report.loaded) == ["llm", "mm_projector", "vision_tower"]


def test_original_llava_layout_fills_llm_projector_and_clip(exported, tmp_path):
    folder, source = exported
    llava = (
        "model.layers.",
        "model.embed_tokens.",
        "model.norm.",
        "lm_head.",
        "model.mm_projector.",
    )
    llava += ("model.vision_tower.vision_tower.",)
    state = {k: v for k, v in authors_state(source).items() if k.startswith(llava)}
    save_file(state, tmp_path / "model.safetensors")
    config = mgm_config(source) | {
        "model_type": "llava",
        "architectures": ["LlavaLlamaForCausalLM"],
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    model = build(CONFIG)
    report = load_llm_folder(model, tmp_path)
    parts = ("llm", "mm_projector", "vision_tower")
    assert_same(state_of(model, *parts), state_of(source, *parts))
    assert sorted(report.loaded) == sorted(parts)


# --- open_clip ConvNeXt --------------------------------------------------------------------------
@pytest.mark.parametrize("file", [None, "open_clip_pytorch_model.bin"])
def test_open_clip_convnext_fills_the_aux_trunk(open_clip_source, file):
    folder, source = open_clip_source
    model = build(CONFIG)
    report = load_open_clip_convnext(model, folder if file is None else folder / file)
    trunk = {
        k: v
        for k, v in source.visual.trunk.state_dict().items()
        if not k.startswith(("head.", "norm_pre."))
    }
    assert_same(model.vision_tower_aux.trunk.state_dict(), trunk)
    read = folder / (file or "open_clip_model.safetensors")  # a folder: safetensors first
    assert report.loaded == {"vision_tower_aux": str(read)}


# --- the authors' export -------------------------------------------------------------------------
def test_sharded_authors_export_fills_all_but_convnext(exported):
    folder, source = exported
    model = build(CONFIG, seed=0)
    untouched = state_of(model, "vision_tower_aux", "region_alignment")
    report = load_authors_checkpoint(model, folder)
    exported_parts = list(report.loaded)
    assert report.random == ["vision_tower_aux", "region_alignment"]
    assert sorted(exported_parts) == sorted(
        ["vision_tower", "fusion", "mm_projector", "llm", "sam", "seg_head"]
    )
    assert_same(state_of(model, *exported_parts), state_of(source, *exported_parts))
    assert_same(state_of(model, "vision_tower_aux", "region_alignment"), untouched)


def test_peft_prefixed_bin_export_with_its_tokenizer(exported, tmp_path):
    folder, source = exported
    state = {"base_model.model." + k: v for k, v in authors_state(source).items()}
    torch.save(state, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    source.tokenizer.save_pretrained(tmp_path)
    model, report = from_components("tiny", authors=tmp_path)
    parts = list(report.loaded)
    assert_same(state_of(model, *parts), state_of(source, *parts))
    assert report.random == ["vision_tower_aux", "region_alignment"]


def test_stage2_export_without_obj_and_image_tokens_gets_their_rows_appended(tmp_path):
    """The authors' stage-2 tokenizer has [SEG], <im_start>, <im_end>, <im_patch> only."""
    authors_tokens = ("[SEG]", "<im_start>", "<im_end>", "<im_patch>")
    vocab = len(plain_tokenizer(authors_tokens))
    source = build(CONFIG, plain_tokenizer(authors_tokens), seed=1)  # gains [OBJ], <image>
    state = authors_state(source)
    for key in ("model.embed_tokens.weight", "lm_head.weight"):
        state[key] = state[key][:vocab].clone()  # as exported: no rows for [OBJ], <image>
    save_file(state, tmp_path / "model.safetensors")
    plain_tokenizer(authors_tokens).save_pretrained(tmp_path)

    model, report = from_components("tiny", authors=tmp_path)
    assert len(model.tokenizer) == vocab + 2
    embeddings = ("llm.model.embed_tokens.weight", "llm.lm_head.weight")
    ours, theirs = model.state_dict(), source.state_dict()
    for key in embeddings:
        assert torch.equal(ours[key][:vocab], theirs[key][:vocab])
    parts = list(report.loaded)
    assert_same(
        {k: v for k, v in state_of(model, *parts).items() if k not in embeddings},
        {k: v for k, v in state_of(source, *parts).items() if k not in embeddings},
    )


def test_model_with_another_tokenizer_is_refused(exported, tmp_path):
    folder, source = exported
    save_file(authors_state(source), tmp_path / "model.safetensors")
    plain_tokenizer().save_pretrained(tmp_path)  # ids shifted against the model's byte-level one
    model = build(CONFIG)
    with pytest.raises(CheckpointError, match="tokenizer is not the one in"):
        load_authors_checkpoint(model, tmp_path)


def test_unmerged_lora_is_refused_with_advice_to_merge(exported, tmp_path):
    folder, source = exported
    state = authors_state(source)
    state["model.layers.0.self_attn.q_proj.lora_A.default.weight"] = torch.zeros(8, 32)
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="un-merged LoRA.*merge_and_unload"):
        load_authors_checkpoint(build(CONFIG), tmp_path)


# --- a whole model -------------------------------------------------------------------------------
def test_model_from_components_survives_save_and_load(
    sam_pth, clip_folder, llama_source, open_clip_source, tmp_path
):
    model, report = from_components(
        "tiny", sam=sam_pth, clip=clip_folder, llm=llama_source[0], convnext=open_clip_source[0]
    )
    assert report.random == ["fusion", "mm_projector", "seg_head", "region_alignment"]
    reloaded = miras.load(save_pretrained(model, tmp_path / "saved"))
    image = np.random.default_rng(0).integers(0, 256, (40, 52, 3), dtype=np.uint8)
    first, second = model.chat(image).send("Segment it."), reloaded.chat(image).send("Segment it.")
    assert first.raw == second.raw
    assert len(first.masks) == len(second.masks)
    assert all(np.array_equal(a, b) for a, b in zip(first.masks, second.masks))
    assert_same(reloaded.state_dict(), model.state_dict())


def test_from_components_places_on_dtype(sam_source, sam_pth):
    model, _ = from_components("tiny", sam=sam_pth, dtype="bfloat16")
    assert model.dtype == torch.bfloat16 and not model.training
    bf16 = {k: v.to(torch.bfloat16) for k, v in sam_source.state_dict().items()}
    assert_same(model.sam.state_dict(), bf16)
    with pytest.raises(ConfigError, match="unknown dtype"):
        from_components("tiny", dtype="float99")


def test_miras_load_builds_a_preset_from_component_checkpoints(sam_source, sam_pth, clip_source, clip_folder):
    import miras

    model = miras.load("tiny", sam=sam_pth, clip=clip_folder)
    assert_same(model.sam.state_dict(), sam_source.state_dict())
    ours = model.vision_tower.model.state_dict()
    for key, value in clip_source.state_dict().items():
        assert torch.equal(ours[key], value), key
