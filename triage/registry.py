"""Where models live: `<base>/models/<version>/` and a `CURRENT` file naming the promoted one."""

from __future__ import annotations

import os
from pathlib import Path

from triage.model import TriageModel


class NoModel(FileNotFoundError):
    pass


class ModelRegistry:
    def __init__(self, base: Path) -> None:
        self.base = base

    @property
    def current_file(self) -> Path:
        return self.base / "CURRENT"

    def path_of(self, version: str) -> Path:
        return self.base / "models" / version

    def save(self, model: TriageModel) -> Path:
        directory = self.path_of(model.version)
        model.save(directory)
        return directory

    def promote(self, version: str) -> None:
        if not (self.path_of(version) / "model.json").exists():
            raise NoModel(f"no saved model {version}")
        self.base.mkdir(parents=True, exist_ok=True)
        tmp = self.current_file.with_suffix(".tmp")
        tmp.write_text(version + "\n")
        os.replace(tmp, self.current_file)  # atomic: a reader sees the old or the new, never half

    def current_version(self) -> str | None:
        try:
            return self.current_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def load_current(self) -> TriageModel:
        version = self.current_version()
        if version is None:
            raise NoModel(
                f"no triage model under {self.base}: run `koe triage train` (it takes about a minute)"
            )
        return TriageModel.load(self.path_of(version))
