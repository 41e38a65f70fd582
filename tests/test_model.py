"""The model on the tiny preset: shapes, losses, [SEG] positions, trainable sets, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SEG_DIALOGUE, overfit

from miras.batch import collate, make_example
from miras.checkpoint import from_pretrained, save_pretrained
from miras.conversation import encode_dialogue
from miras.modeling.miras import IMAGE_SLOT
from miras.trainable import POLICIES, apply_policy, merge_lora


def _batch(model, image, mask, turns=SEG_DIALOGUE):
    return collate([make_example(model, image, turns, [mask])])


def test_shapes_through_the_whole_forward(tiny_model, rgb_image, box_mask):
    config = tiny_model.config
    batch = collate([make_example(tiny_model, rgb_image, SEG_DIALOGUE, [box_mask])] * 2)
    features = tiny_model.encode_images(batch.clip, batch.aux, batch.sam)
    n_image = config.num_image_tokens
    assert features.visual_tokens.shape == (2, n_image, config.llm_hidden)
    grid = config.sam.embedding_size
    assert features.sam_embedding.shape == (2, config.sam.prompt_dim, grid, grid)

    spliced = tiny_model.splice(batch.input_ids, features.visual_tokens, batch.labels)
    assert spliced.embeds.shape == (2, len(batch.input_ids[0]) + n_image - 1, config.llm_hidden)
    assert (spliced.ids == IMAGE_SLOT).sum(1).tolist() == [n_image, n_image]
    assert (spliced.labels[spliced.ids == IMAGE_SLOT] == -100).all()

    hidden = tiny_model.hidden_states(spliced.embeds, spliced.attention_mask)
    prompts = tiny_model.seg_prompts(hidden[0], spliced.ids[0])
    assert prompts.shape == (1, config.sam.prompt_dim)
    masks, scores = tiny_model.predict_masks(features.sam_embedding[:1], prompts, batch.input_sizes[0], (40, 52))
    assert masks.shape == (1, 40, 52) and masks.dtype == torch.bool
    assert 0 <= float(scores[0].detach()) <= 1

    out = tiny_model(batch)
    assert out.n_masks == 2
    for value in (out.loss, out.ce, out.bce, out.dice, out.iou):
        assert torch.isfinite(value)


def test_a_training_batch_is_padded_to_a_few_lengths_without_changing_its_loss(tiny_model, rgb_image, box_mask,
                                                                             monkeypatch):
    # Each new batch length left a bf16 CPU run larger and slower (docs/speed-log.md, session 21).
    import miras.modeling.miras as modeling

    short = [("human", "Segment the box."), ("gpt", "Sure, it is [OBJ]the box[SEG].")]
    batch = collate([make_example(tiny_model, rgb_image, turns, [box_mask]) for turns in (SEG_DIALOGUE, short)])
    lengths: list[int] = []
    hook = tiny_model.llm.get_decoder().register_forward_pre_hook(
        lambda _, args, kwargs: lengths.append(kwargs["inputs_embeds"].shape[1]), with_kwargs=True)
    tiny_model.eval()
    try:
        with torch.no_grad():
            padded = tiny_model(batch)
            assert lengths[0] % modeling.TRAINING_LENGTH_MULTIPLE == 0
            monkeypatch.setattr(modeling, "TRAINING_LENGTH_MULTIPLE", 1)
            unpadded = tiny_model(batch)
    finally:
        hook.remove()
        tiny_model.train()
    assert lengths[0] > lengths[1]
    for name in ("loss", "ce", "bce", "dice", "iou"):
        torch.testing.assert_close(getattr(padded, name), getattr(unpadded, name), rtol=1e-5, atol=1e-6)


def test_padding_never_goes_past_the_context(tiny_model, rgb_image, box_mask):
    batch = _batch(tiny_model, rgb_image, box_mask)
    visual = tiny_model.encode_images(batch.clip, batch.aux, batch.sam).visual_tokens
    spliced = tiny_model.splice(batch.input_ids, visual, batch.labels, multiple=10_000)
    assert spliced.ids.shape[1] == tiny_model.config.max_length
    assert (spliced.labels[spliced.attention_mask == 0] == -100).all()


def test_a_training_forward_and_backward_never_use_cudnn_attention(tiny_model, rgb_image, box_mask):
    # Batches are padded to a multiple of 64, so the length still changes from batch to batch, and
    # cuDNN attention sets up a graph for every new length (~33 ms each on an H100).
    enabled: list[bool] = []
    decoder = tiny_model.llm.get_decoder()
    hook = decoder.register_forward_pre_hook(lambda *_: enabled.append(torch.backends.cuda.cudnn_sdp_enabled()))
    try:
        tiny_model(_batch(tiny_model, rgb_image, box_mask)).loss.backward()
    finally:
        hook.remove()
    assert enabled == [False]
    assert torch.backends.cuda.cudnn_sdp_enabled()  # restored for everything else


def test_loss_falls_when_overfitting_one_sample(tiny_model, rgb_image, box_mask):
    losses = overfit(tiny_model, _batch(tiny_model, rgb_image, box_mask), steps=25, lr=3e-3)
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0]


def test_seg_embedding_is_read_at_the_true_seg_position(tiny_model, rgb_image, box_mask):
    """The [SEG] sits N-1 places later once N image tokens replace <image>; read it there."""
    ids = tiny_model.token_ids
    encoded = encode_dialogue(tiny_model.tokenizer, ids, SEG_DIALOGUE[2:], system="sys")
    seg_in_text = encoded.input_ids.index(ids.seg)
    visual = torch.zeros(1, tiny_model.config.num_image_tokens, tiny_model.config.llm_hidden)
    spliced = tiny_model.splice([encoded.input_ids], visual)
    seg_at = seg_in_text + tiny_model.config.num_image_tokens - 1
    assert int(spliced.ids[0, seg_at]) == ids.seg

    hidden = torch.randn(spliced.ids.shape[1], tiny_model.config.llm_hidden)
    tiny_model.eval()
    with torch.no_grad():
        before = tiny_model.seg_prompts(hidden, spliced.ids[0])
        moved = hidden.clone()
        moved[seg_at] += 1.0
        after_seg = tiny_model.seg_prompts(moved, spliced.ids[0])
        obj_at = int((spliced.ids[0] == ids.obj).nonzero()[0])
        elsewhere = hidden.clone()
        elsewhere[:obj_at] += 1.0  # everything before [OBJ]: the image block and the question
        after_elsewhere = tiny_model.seg_prompts(elsewhere, spliced.ids[0])
    assert not torch.allclose(before, after_seg)
    assert torch.allclose(before, after_elsewhere)


def test_region_alignment_uses_the_obj_span_and_is_trained(tiny_model, rgb_image, box_mask):
    ids = tiny_model.token_ids
    hidden = torch.randn(6, tiny_model.config.llm_hidden)
    plain = torch.tensor([5, 6, 7, 8, 9, ids.seg])
    with_obj = torch.tensor([5, ids.obj, 7, 8, 9, ids.seg])
    tiny_model.eval()
    with torch.no_grad():
        assert torch.allclose(tiny_model.seg_prompts(hidden, plain), tiny_model.seg_head(hidden[5:6]))
        assert not torch.allclose(tiny_model.seg_prompts(hidden, with_obj), tiny_model.seg_head(hidden[5:6]))

    apply_policy(tiny_model, "paper")
    tiny_model(_batch(tiny_model, rgb_image, box_mask)).loss.backward()
    grads = [p.grad for p in tiny_model.region_alignment.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_prompts_of_a_batch_are_those_of_each_sequence(tiny_model):
    """One [SEG]-head and alignment call for many sequences must not mix their phrases."""
    ids = tiny_model.token_ids
    sequences = [
        torch.tensor([5, ids.obj, 7, 8, ids.seg, 9, ids.obj, 6, ids.seg]),  # two phrases
        torch.tensor([5, 6, 7]),  # no [SEG]
        torch.tensor([5, 6, ids.seg, 7, ids.obj, 8, ids.seg]),  # one plain [SEG], one phrase
    ]
    hiddens = [torch.randn(len(seq), tiny_model.config.llm_hidden) for seq in sequences]
    tiny_model.eval()
    with torch.no_grad():
        batched = tiny_model.batch_seg_prompts(hiddens, sequences)
        alone = [tiny_model.seg_prompts(h, seq) for h, seq in zip(hiddens, sequences)]
    assert [len(p) for p in batched] == [2, 0, 2]
    for together, single in zip(batched, alone):
        assert torch.allclose(together, single, atol=1e-6)


@pytest.mark.parametrize("policy", POLICIES)
def test_frozen_parameters_get_no_gradient(policy, tiny_model, rgb_image, box_mask):
    trainable = set(apply_policy(tiny_model, policy))
    tiny_model(_batch(tiny_model, rgb_image, box_mask)).loss.backward()
    for name, param in tiny_model.named_parameters():
        if name not in trainable:
            assert param.grad is None, name
    expected = {"paper": ("sam.mask_decoder.", "seg_head.", "region_alignment."), "authors": ("lora_",)}
    for prefix in expected.get(policy, ()):
        assert any(prefix in name for name in trainable), prefix
    if policy == "paper":
        assert all(n.startswith(expected["paper"]) for n in trainable)
    if policy == "authors":
        assert any("embed_tokens" in n for n in trainable) and any("lm_head" in n for n in trainable)
        assert not any(n.startswith(("vision_tower", "sam.image_encoder")) for n in trainable)


def test_authors_policy_merges_back_to_plain_llama_keys(tiny_model):
    keys_before = set(tiny_model.state_dict())
    apply_policy(tiny_model, "authors")
    assert any("lora_A" in k for k in tiny_model.state_dict())
    merge_lora(tiny_model)
    assert set(tiny_model.state_dict()) == keys_before


def test_save_then_load_gives_identical_outputs(tiny_model, rgb_image, box_mask, tmp_path):
    tiny_model.eval()
    batch = _batch(tiny_model, rgb_image, box_mask)
    save_pretrained(tiny_model, tmp_path / "ckpt")
    loaded = from_pretrained(tmp_path / "ckpt")
    assert any(k.startswith("region_alignment.") for k in loaded.state_dict())
    for key, value in tiny_model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    with torch.no_grad():
        a, b = tiny_model(batch), loaded(batch)
    assert torch.equal(a.loss, b.loss)
    reply_a = tiny_model.chat(rgb_image).send("Segment the mug.")
    reply_b = loaded.chat(rgb_image).send("Segment the mug.")
    assert reply_a.raw == reply_b.raw


def test_one_decoder_call_for_a_batch_equals_a_call_per_image(tiny_model):
    """Training decodes every [SEG] of a batch at once; each must get its own image's mask."""
    from miras.modeling.sam import decode_masks

    config = tiny_model.config.sam
    grid = config.embedding_size
    embeddings = torch.randn(3, config.prompt_dim, grid, grid)
    prompts = torch.randn(3, config.prompt_dim)
    tiny_model.eval()
    with torch.no_grad():
        batched, batched_iou = decode_masks(tiny_model.sam, embeddings, prompts)
        for i in range(3):
            # SAM's own call for one image and its prompt, unchanged
            own, own_iou = tiny_model.sam.mask_decoder(
                image_embeddings=embeddings[i : i + 1],
                image_pe=tiny_model.sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=prompts[i : i + 1, None],
                dense_prompt_embeddings=tiny_model.sam.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, grid, grid),
                multimask_output=False,
            )
            assert torch.allclose(batched[i], own[0, 0], atol=1e-5)
            assert torch.allclose(batched_iou[i], own_iou[0, 0], atol=1e-5)
        assert not torch.allclose(batched[0], batched[1])


@pytest.mark.parametrize("original_size", [(64, 48), (128, 96)], ids=["not resized", "resized"])
def test_masks_at_the_users_size_are_sams_postprocessing(tiny_model, original_size):
    """Skipping SAM's last resize when the image kept its size changes no number, nor a gradient."""
    from miras.modeling.sam import masks_at_original_size

    low_res = torch.randn(2, 16, 16, requires_grad=True)
    ours = masks_at_original_size(tiny_model.sam, low_res, (64, 48), original_size)
    (ours_grad,) = torch.autograd.grad(ours.square().sum(), low_res)
    sams = tiny_model.sam.postprocess_masks(low_res.unsqueeze(1), (64, 48), original_size)[:, 0]
    (sams_grad,) = torch.autograd.grad(sams.square().sum(), low_res)
    assert ours.shape == (2, *original_size)
    assert torch.equal(ours, sams) and torch.equal(ours_grad, sams_grad)


def test_mask_decoder_reads_contiguous_tokens_and_maps_with_the_same_masks(tiny_model):
    """SAM's two-way transformer gets its image tokens contiguous, its upscaling and so its last
    GELU contiguous maps (strided views made both slow on the CPU), and the masks are those of
    SAM's modules unhooked."""
    import copy

    from miras.modeling.sam import decode_masks

    config = tiny_model.config.sam
    grid = config.embedding_size
    embeddings, prompts = torch.randn(3, config.prompt_dim, grid, grid), torch.randn(3, config.prompt_dim)
    seen = []
    decoder = tiny_model.sam.mask_decoder
    probes = [
        decoder.transformer.layers[0].register_forward_pre_hook(
            lambda module, args, kwargs: seen.append(("keys", kwargs["keys"].is_contiguous())),
            with_kwargs=True,
        ),
        decoder.output_upscaling[-1].register_forward_pre_hook(
            lambda module, args: seen.append(("gelu", args[0].is_contiguous()))
        ),
    ]
    try:
        hooked, _ = decode_masks(tiny_model.sam, embeddings, prompts)
    finally:
        for probe in probes:
            probe.remove()
    plain_sam = copy.deepcopy(tiny_model.sam)
    for module in plain_sam.modules():
        module._forward_pre_hooks.clear()
    plain, _ = decode_masks(plain_sam, embeddings, prompts)
    assert seen == [("keys", True), ("gelu", True)]
    assert torch.allclose(hooked, plain, atol=1e-5)
