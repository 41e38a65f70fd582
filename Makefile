# Two entry points for a newcomer: `make demo` and `make test`. Both set up .venv first, idempotently.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch first, pinned: these builds carry a torchvision that timm, open_clip and segment-anything need.
TORCH := torch==2.14.1 torchvision==0.29.1
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)

.PHONY: setup test demo lint demo-model bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(XDG_RUNTIME_DIR):
	mkdir -p -m 0700 $@

test: setup | $(XDG_RUNTIME_DIR)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

demo: setup | $(XDG_RUNTIME_DIR)
	HF_HUB_OFFLINE=1 $(BIN)/python -m napari_miras.demo

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/run.py --json

demo-model: setup
	HF_HUB_OFFLINE=1 $(BIN)/miras demo-train --out miras/weights/demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
