"""Is the embedding stack usable here? Answered in seconds, before a run spends minutes.

A run only touches torch, transformers and FlagEmbedding at its first embedding asset, several
minutes in. A stack that cannot import (an install that resolved a transformers release
FlagEmbedding does not support, say) is found here instead, by importing the libraries the way
``embedding.load_embedder`` does and by locating the configured model's files without loading
them, so ``aura doctor`` and the start of ``aura demo`` / ``aura run`` can name the package.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from aura_platform.search.embedding import ModelSpec, load_embedder, resolve_model

# Import order matters for the message: the first module that fails is the one named.
STACK_MODULES = ("torch", "transformers", "sentence_transformers", "FlagEmbedding")
# Distributions whose versions explain most breaks of the stack above.
STACK_DISTRIBUTIONS = ("torch", "transformers", "sentence-transformers", "FlagEmbedding")
REINSTALL_HINT = "reinstall from the lock: rm -rf .venv && make demo (or make test)"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class EmbeddingStackError(RuntimeError):
    """The embedding libraries cannot import, or the configured model is not on this machine."""


@dataclass(frozen=True)
class ModelLocation:
    """Where the configured model's files are, found without loading them."""

    spec: ModelSpec
    path: Path


def installed_versions() -> str:
    """``torch 2.13.0+cpu, transformers 4.57.6, ...``: what a bug report about the stack needs."""
    parts = []
    for name in STACK_DISTRIBUTIONS:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def check_imports() -> None:
    """Import each library of the stack, as a run would.

    Raises:
        EmbeddingStackError: Naming the first module that fails, its error (which names the
            missing piece, e.g. ``transformers.modeling_attn_mask_utils``) and the installed
            versions.
    """
    for module in STACK_MODULES:
        try:
            importlib.import_module(module)
        except Exception as exc:  # any import-time failure of the stack means the same thing
            raise EmbeddingStackError(
                f"the embedding stack cannot import {module}: {type(exc).__name__}: {exc} "
                f"(installed: {installed_versions()}); {REINSTALL_HINT}"
            ) from None


def locate_model(name: str) -> ModelLocation:
    """Find the configured model's files on this machine; nothing is downloaded or loaded.

    A bundled or local model must be a folder with a config and weights; a Hugging Face id must
    already be in the local Hugging Face cache, because runs have no network.

    Raises:
        EmbeddingStackError: The model's package, folder or cached files are missing.
    """
    try:
        spec = resolve_model(name)
    except ImportError as exc:
        raise EmbeddingStackError(
            f"model {name}: its package cannot be imported ({exc}); {REINSTALL_HINT}"
        ) from None
    except ValueError as exc:
        raise EmbeddingStackError(f"model {name}: {exc}") from None
    folder = Path(spec.path_or_id)
    if not folder.is_dir():
        folder = _cached_snapshot(spec.path_or_id)
    missing = [f for f in ("config.json",) if not (folder / f).is_file()]
    if not any((folder / f).is_file() for f in _WEIGHT_FILES):
        missing.append(" or ".join(_WEIGHT_FILES))
    if missing:
        raise EmbeddingStackError(f"model {name}: {folder} lacks {', '.join(missing)}")
    return ModelLocation(spec=spec, path=folder)


def smoke_test(name: str) -> str:
    """Load the model and embed one sentence: the proof that the whole stack works together.

    Returns:
        A one-line result: dimensions, device and seconds taken.
    """
    check_imports()
    started = time.perf_counter()
    embedder = load_embedder(name)
    vector = embedder.encode(["Aura checks that its embedding model loads."])[0]
    seconds = time.perf_counter() - started
    norm = float(vector @ vector) ** 0.5
    return (
        f"loaded and ran: {embedder.dimensions} dimensions on {embedder.device}, "
        f"norm {norm:.3f}, {seconds:.1f} s"
    )


def _cached_snapshot(model_id: str) -> Path:
    """The local Hugging Face cache folder of a model id, or an error saying it is not there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except HFValidationError:
        raise EmbeddingStackError(
            f"model {model_id}: no such folder, and not a Hugging Face model id either"
        ) from None
    except LocalEntryNotFoundError:
        raise EmbeddingStackError(
            f"model {model_id} is neither a local folder nor in the Hugging Face cache; runs "
            "have no network: download it where there is one (huggingface-cli download "
            f"{model_id}) or set AURA_EMBEDDING_MODEL to a model folder"
        ) from None
