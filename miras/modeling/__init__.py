"""MIRAS as `nn.Module`s: one part per file; `miras.py` composes them."""
