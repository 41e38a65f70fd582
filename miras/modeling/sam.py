"""SAM from segment-anything's own modules, sized by `SamConfig`, and its mask decoding."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from miras.config import SamConfig
from miras.preprocess import SAM_MEAN, SAM_STD


def build_sam(config: SamConfig) -> nn.Module:
    """segment-anything's `Sam(image_encoder, prompt_encoder, mask_decoder)` at these sizes."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    grid = config.embedding_size
    encoder = ImageEncoderViT(
        depth=config.encoder_depth,
        embed_dim=config.encoder_embed_dim,
        img_size=config.image_size,
        mlp_ratio=4,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        num_heads=config.encoder_num_heads,
        patch_size=config.patch_size,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=tuple(config.encoder_global_attn_indexes),
        window_size=config.window_size,
        out_chans=config.prompt_dim,
    )
    prompt_encoder = PromptEncoder(
        embed_dim=config.prompt_dim,
        image_embedding_size=(grid, grid),
        input_image_size=(config.image_size, config.image_size),
        mask_in_chans=config.mask_in_chans,
    )
    decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(
            depth=config.decoder_depth,
            embedding_dim=config.prompt_dim,
            mlp_dim=config.decoder_mlp_dim,
            num_heads=config.decoder_num_heads,
        ),
        transformer_dim=config.prompt_dim,
        iou_head_depth=3,
        iou_head_hidden_dim=config.iou_head_hidden_dim,
    )
    decoder.transformer.register_forward_pre_hook(_tokens_contiguous)
    decoder.output_upscaling.register_forward_pre_hook(_standard_layout)
    return Sam(encoder, prompt_encoder, decoder, pixel_mean=list(SAM_MEAN), pixel_std=list(SAM_STD))


def _tokens_contiguous(module: nn.Module, args: tuple) -> tuple:
    """SAM's two-way transformer reads the image embedding and its positional encoding as tokens,
    `flatten(2).permute(0, 2, 1)`: from the standard layout that is a strided view, and every
    add, norm and copy of its layers then walks memory across the grain. In channels-last
    layout the same call gives contiguous (B, HW, C) tokens: the same numbers, and a stage-2 step
    on cached features about 6% faster (A/B in one process, 62 vs 58 ms)."""
    image_embedding, image_pe, point_embedding = args
    return (
        image_embedding.contiguous(memory_format=torch.channels_last),
        image_pe.contiguous(memory_format=torch.channels_last),
        point_embedding,
    )


def _standard_layout(module: nn.Module, args: tuple) -> tuple:
    """SAM hands its mask upscaling a transposed view of the transformer's output (channels-last
    strides), and on the CPU the transposed convolutions keep that layout. The last GELU's output
    is read through `.view` by a matrix product whose backward hands GELU a gradient in the
    standard layout, and with the two layouts mixed GELU's backward takes 3.3 ms instead of 0.44
    on a (16, 16, 64, 64) map. One copy into the standard layout first, for the whole upscaling:
    the same numbers, and a stage-2 step on cached features 4% faster (converting only before the
    last GELU was slower, and its gradients depended on the batch split beyond DDP's tolerance)."""
    return tuple(arg.contiguous() for arg in args)


def decode_masks(
    sam: nn.Module, embedding: torch.Tensor, prompts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Low-resolution mask logits for n prompts, in one decoder call.

    embedding (1, D, g, g): one image for every prompt; or (n, D, g, g): prompt i on image i
    (a whole training batch at once). The prompt is SAM's sparse embedding, the dense one is
    `no_mask_embed` (reference §1.5). Returns logits (n, 4g, 4g) and predicted IoU (n,).
    """
    n = prompts.shape[0]
    dense = sam.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1) + embedding.expand(n, -1, -1, -1)
    # SAM's decoder repeats one image embedding for every prompt and adds the dense prompt;
    # handing it a zero image and the embeddings inside the dense prompt gives each prompt
    # its own image with SAM's code unchanged (x + 0 == x: the same numbers as per image).
    logits, iou = sam.mask_decoder(
        image_embeddings=embedding.new_zeros((1, *embedding.shape[1:])),
        image_pe=dense_positional_encoding(sam),
        sparse_prompt_embeddings=prompts.unsqueeze(1),
        dense_prompt_embeddings=dense,
        multimask_output=False,
    )
    return logits[:, 0], iou[:, 0]


def dense_positional_encoding(sam: nn.Module) -> torch.Tensor:
    """SAM's `prompt_encoder.get_dense_pe()`, also for a model cast to bf16 or fp16.

    segment-anything multiplies a float32 grid by its Gaussian matrix, which raises a dtype
    error once the model is cast (`miras.load(..., dtype=torch.bfloat16)` failed at its first
    mask). The encoding is computed from a float32 copy of the matrix, then cast."""
    encoder = sam.prompt_encoder
    matrix = encoder.pe_layer.positional_encoding_gaussian_matrix
    if matrix.dtype == torch.float32:
        return encoder.get_dense_pe()
    pe = torch.func.functional_call(
        encoder.pe_layer, {"positional_encoding_gaussian_matrix": matrix.float()}, (encoder.image_embedding_size,)
    )
    return pe.unsqueeze(0).to(matrix.dtype)


def masks_at_original_size(
    sam: nn.Module,
    logits: torch.Tensor,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
) -> torch.Tensor:
    """(n, 4g, 4g) low-res logits -> (n, H, W) logits at the user's image size.

    SAM's `postprocess_masks`, less its last resize when the image was not resized: an identity,
    yet half of the 4% of a stage-2 step on cached features that its two resizes took."""
    if tuple(input_size) != tuple(original_size):
        return sam.postprocess_masks(logits.unsqueeze(1), tuple(input_size), tuple(original_size))[:, 0]
    side = sam.image_encoder.img_size
    masks = F.interpolate(logits.unsqueeze(1), (side, side), mode="bilinear", align_corners=False)
    return masks[:, 0, : input_size[0], : input_size[1]]
