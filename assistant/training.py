"""Train the Rasa model only when its inputs changed: the model file is named by their hash."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from assistant.config import REPO_ROOT

# What the trained model depends on. The held-out NLU set (data/test/) is deliberately absent.
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    "data/nlu",
    "data/jieba",
    "data/rules.yml",
    "data/stories.yml",
    "assistant/rasa_plugins",
)
CORE_VENV = REPO_ROOT / ".venv-core"
MODELS_DIR = REPO_ROOT / "models"


class TrainingFailed(RuntimeError):
    """`rasa train` exited with an error; its output says why."""


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )
        elif path.exists():
            files.append(path)
    return files


def inputs_hash(root: Path = REPO_ROOT) -> str:
    """Hash of every training input's path and content."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Path = REPO_ROOT) -> Path:
    return MODELS_DIR / f"siyu-{inputs_hash(root)}.tar.gz"


def rasa_executable() -> Path:
    return CORE_VENV / "bin" / "rasa"


def ensure_trained(*, force: bool = False) -> Path:
    """Return the model for the current inputs, training it first if it does not exist."""
    target = model_path()
    if target.exists() and not force:
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    command = [
        str(rasa_executable()),
        "train",
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
        "--out",
        str(MODELS_DIR),
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data/nlu",
        "data/rules.yml",
        "data/stories.yml",
    ]
    print(f"training Rasa model {target.name} (inputs changed) ...", file=sys.stderr, flush=True)
    result = subprocess.run(command, cwd=REPO_ROOT, check=False)
    if result.returncode != 0 or not target.exists():
        raise TrainingFailed(f"`rasa train` failed with exit code {result.returncode}")
    for stale in MODELS_DIR.glob("siyu-*.tar.gz"):
        if stale != target:
            stale.unlink()
    return target
