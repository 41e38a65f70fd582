"""napari-miras: talk to a MIRAS model in napari, correct its masks, learn from the corrections.

The napari contributions live in private modules named in `napari.yaml` (npe2 imports each one
only when it is used); importing this package loads nothing else.
"""

__version__ = "0.1.0"
