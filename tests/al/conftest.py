"""Fixtures of the active-learning tests: stores, PRIST folders, tiny checkpoints, easy data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REQUEST = [{"from": "human", "value": "Segment the red square."},
           {"from": "gpt", "value": "Sure, [SEG]."}]


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """One intra-op thread for these tests. On a CPU shared with a training job, two threads wait
    at every parallel op for the one the scheduler starved: with two, the retrain test took 21
    minutes of wall time for a few seconds of CPU time; with one, wall stays near CPU time."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def store(tmp_path):
    from active_learning.store import open_store

    return open_store(tmp_path / "corrections.zarr")


@pytest.fixture
def prist_sample_text() -> str:
    path = SHARED_DATA / "prist-test-sample.json"
    if not path.is_file():
        pytest.skip(f"the shared PRIST sample is not at {path}")
    return path.read_text(encoding="utf-8")


def made_up_prist(root: Path, entries: list[dict], size: tuple[int, int] = (48, 64)) -> Path:
    """A PRIST folder of `entries` with made-up images and one box polygon per focus."""
    from miras.prist import PristSample, annotation_for, write_prist

    samples = [PristSample.from_json(e) for e in entries]
    images, annotations = {}, {}
    for k, img_id in enumerate(dict.fromkeys(s.img_id for s in samples)):
        rng = np.random.default_rng(k)
        images[img_id] = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        foci = [s.focus for s in samples if s.img_id == img_id]
        shapes = []
        for j, focus in enumerate(foci):
            x0, y0 = 2 + 12 * j, 3 + 4 * j
            box = [[x0, y0], [x0 + 9, y0], [x0 + 9, y0 + 20], [x0, y0 + 20]]
            shapes.append({"label": focus, "points": box})
        annotations[img_id] = annotation_for(shapes, *size)
    write_prist(root, samples, images, annotations)
    return root


def easy_image(seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A grey-noise image with one red square somewhere in the middle, and its mask."""
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 130, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), bool)
    row, col = rng.integers(size // 8, size * 3 // 8, 2)
    mask[row:row + size * 7 // 16, col:col + size * 7 // 16] = True
    image[mask] = (220, 30, 30)
    return image, mask


def add_easy(store, seeds, *, status="curated", invert=False, named=False) -> list[str]:
    """Curated (or proposed) easy samples: 'Segment the red square.' -> its mask.

    named: ids "easy-<seed>" instead of fresh random ones (so the held-out share is fixed).
    """
    ids = []
    for seed in seeds:
        image, mask = easy_image(seed)
        target = ~mask if invert else mask
        masks = {"proposal": target} if status == "proposed" else {"correction": target}
        ids.append(store.add_sample(image=image, dialogue=REQUEST, focus="red square",
                                    status=status, sample_id=f"easy-{seed}" if named else None,
                                    **masks))
    return ids


def easy_prist(root: Path, seeds) -> Path:
    """The easy data as a PRIST folder (for --eval and --replay)."""
    from miras.prist import PristSample, annotation_for, mask_to_shapes, write_prist

    samples, images, annotations = [], {}, {}
    for seed in seeds:
        image, mask = easy_image(seed)
        img_id = f"easy{seed:04d}.png"
        samples.append(PristSample.from_json({"img_id": img_id, "dialogue": REQUEST,
                                              "focus": "red square"}))
        images[img_id] = image
        annotations[img_id] = annotation_for(mask_to_shapes(mask, "red square"), *mask.shape)
    write_prist(root, samples, images, annotations)
    return root


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random tiny MIRAS (seed 0) saved as a checkpoint folder."""
    from miras.checkpoint import build, save_pretrained

    return save_pretrained(build("tiny", seed=0), tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    """One feature cache for every training test: entries are keyed by content, so tests that
    train on the same samples compute their features once."""
    return tmp_path_factory.mktemp("feature-cache")


def read_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def easy_eval_dir(tmp_path_factory) -> Path:
    """Held-out easy data as a PRIST folder; one folder for the session, so that its features
    are cached once."""
    return easy_prist(tmp_path_factory.mktemp("easy-eval"), range(100, 104))


@pytest.fixture
def registry(tmp_path, tiny_checkpoint):
    from active_learning.registry import Registry

    registry = Registry(tmp_path / "registry")
    registry.init(tiny_checkpoint)
    return registry


def quick_settings(**overrides):
    """Settings under which the tiny model learns the easy data in seconds (measured: cIoU on
    the easy eval set goes from 0.19 to about 0.6 in 20 steps at lr 1e-2)."""
    from active_learning.retrain import RetrainSettings

    values = {"steps": 20, "batch_size": 4, "lr": 1e-2, "warmup_steps": 0, "eval_limit": 4,
              "replay_limit": 0}
    return RetrainSettings(**{**values, **overrides})


@pytest.fixture(scope="module")
def s3_options(tmp_path_factory):
    """storage_options of a fresh bucket on a local moto S3 server (loopback only)."""
    import logging
    import os
    import uuid

    server_module = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                      NO_PROXY="127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "AWS_PROFILE"):
        os.environ.pop(name, None)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"al-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    yield bucket, {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    server.stop()
    os.environ.clear()
    os.environ.update(saved)
