"""The model picker's choices: what to hand `miras.load`, what to call the version, and what to
tell the user when loading fails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO, REGISTRY, FOLDER, TINY = "demo", "registry (current)", "folder", "tiny"
CHOICES = (DEMO, REGISTRY, FOLDER, TINY)


class SourceError(ValueError):
    """The choice cannot be loaded as it stands (no folder given, no registry set)."""


@dataclass(frozen=True)
class ModelSource:
    choice: str
    folder: str = ""  # for FOLDER
    registry: str = ""  # for REGISTRY: the session's registry folder

    def target(self) -> str:
        """The argument for `miras.load`."""
        if self.choice in (DEMO, TINY):
            return self.choice
        path = self.registry if self.choice == REGISTRY else self.folder
        if not path:
            raise SourceError(
                "set the registry folder in the MIRAS active learning dock first"
                if self.choice == REGISTRY
                else "choose a checkpoint or registry folder next to Model first"
            )
        return str(Path(path).expanduser())

    def version(self) -> str:
        """The model version recorded with each sample (the registry's `current` if known)."""
        if self.choice == REGISTRY:
            from napari_miras._al_api import FeatureMissing, registry_current

            try:
                return registry_current(self.registry) or Path(self.registry).name
            except FeatureMissing:
                return Path(self.registry).name
        if self.choice == FOLDER:
            return Path(self.folder).name or self.folder
        return self.choice


def explain(error: BaseException, source: ModelSource) -> str:
    """A notification text for a failed load: what went wrong and what to do."""
    if source.choice == DEMO:
        return (
            f"The demo model could not be loaded: {error}. Pick 'tiny' under Model to try the "
            "plugin with an untrained model, or 'folder' for a checkpoint or registry folder."
        )
    return f"Could not load the model ({source.choice}): {error}"
