"""Training MIRAS: stages 0-2, resumable, on one or several processes (torchrun)."""
