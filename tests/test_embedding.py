"""The embedding registry (pure) and the bundled all-MiniLM-L6-v2 model (real weights, CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from aura_platform.search.embedding import (
    DEFAULT_MODEL,
    Embedder,
    LoadOptions,
    _flag_model,
    load_embedder,
    load_options,
    resolve_model,
)
from aura_platform.settings import Settings


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder(DEFAULT_MODEL, batch_size=4)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_the_default_model_resolves_to_the_bundled_weights_with_mean_pooling() -> None:
    spec = resolve_model(DEFAULT_MODEL)

    assert spec.name == "all-MiniLM-L6-v2"
    assert (Path(spec.path_or_id) / "model.safetensors").is_file()
    assert (spec.pooling, spec.dimensions, spec.max_length) == ("mean", 384, 256)


def test_bge_m3_resolves_to_its_hub_id_with_cls_pooling_and_1024_dimensions() -> None:
    spec = resolve_model("BAAI/bge-m3")

    assert (spec.path_or_id, spec.pooling, spec.dimensions) == ("BAAI/bge-m3", "cls", 1024)


def test_a_sentence_transformers_folder_brings_its_own_pooling_and_max_length(
    tmp_path: Path,
) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True})
    )
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))

    spec = resolve_model(str(tmp_path))

    assert spec.name == str(tmp_path)
    assert spec.path_or_id == str(tmp_path.resolve())
    assert (spec.pooling, spec.dimensions, spec.max_length) == ("mean", None, 128)


def test_a_plain_folder_or_an_unknown_id_gets_cls_pooling_and_dimensions_from_the_model(
    tmp_path: Path,
) -> None:
    folder = resolve_model(str(tmp_path))
    hub = resolve_model("intfloat/e5-small-v2")

    assert (folder.pooling, folder.dimensions, folder.max_length) == ("cls", None, 512)
    assert (hub.path_or_id, hub.pooling, hub.dimensions) == ("intfloat/e5-small-v2", "cls", None)


def test_a_folder_pooling_other_than_mean_or_cls_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_max_tokens": True})
    )

    with pytest.raises(ValueError, match="only mean or CLS pooling"):
        resolve_model(str(tmp_path))


def test_bge_m3_by_name_runs_on_cuda_in_fp16_when_a_gpu_is_present() -> None:
    options = load_options(resolve_model("BAAI/bge-m3"), cuda=True)

    assert options == LoadOptions(
        path_or_id="BAAI/bge-m3", pooling="cls", max_length=512, device="cuda:0", use_fp16=True
    )
    assert options.flag_model_kwargs() == {
        "model_name_or_path": "BAAI/bge-m3",
        "pooling_method": "cls",
        "normalize_embeddings": True,
        "use_fp16": True,
        "devices": "cuda:0",
        "query_max_length": 512,
        "passage_max_length": 512,
    }


def test_without_a_gpu_every_model_runs_on_cpu_in_fp32() -> None:
    for name in (DEFAULT_MODEL, "BAAI/bge-m3"):
        options = load_options(resolve_model(name), cuda=False)

        assert (options.device, options.use_fp16) == ("cpu", False)
        assert options.flag_model_kwargs()["devices"] == "cpu"


def test_bge_m3_from_a_local_folder_loads_that_folder_with_its_cls_pooling(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "bge-m3"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )

    options = load_options(resolve_model(str(folder)), cuda=True)

    assert (options.path_or_id, options.pooling) == (str(folder.resolve()), "cls")
    assert (options.device, options.use_fp16) == ("cuda:0", True)


class _FakeFlagModel:
    """Stands in for FlagEmbedding's FlagModel: records how it was built, holds no weights."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.built.append(kwargs)
        self.model = self
        self.config = type("Config", (), {"hidden_size": 1024})()
        self.moved_to: list[str] = []

    def to(self, device: str) -> None:
        self.moved_to.append(device)

    def eval(self) -> None:
        pass


@pytest.fixture
def fake_gpu_flag_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_FakeFlagModel]]:
    """FlagModel replaced by the fake and a CUDA device pretended; the model cache emptied."""
    import FlagEmbedding
    import torch

    monkeypatch.setattr(FlagEmbedding, "FlagModel", _FakeFlagModel)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _FakeFlagModel.built = []
    _flag_model.cache_clear()
    yield _FakeFlagModel
    _flag_model.cache_clear()


def test_load_embedder_builds_bge_m3_once_per_process_on_cuda_in_fp16(
    fake_gpu_flag_model: type[_FakeFlagModel],
) -> None:
    first = load_embedder("BAAI/bge-m3", batch_size=16)
    second = load_embedder("BAAI/bge-m3", batch_size=32)

    assert len(fake_gpu_flag_model.built) == 1
    built = fake_gpu_flag_model.built[0]
    assert (built["model_name_or_path"], built["pooling_method"]) == ("BAAI/bge-m3", "cls")
    assert (built["devices"], built["use_fp16"]) == ("cuda:0", True)
    assert first._model is second._model
    assert first._model.moved_to == ["cuda:0"]
    assert (first.device, first.dimensions, first.batch_size, second.batch_size) == (
        "cuda:0",
        1024,
        16,
        32,
    )
    assert (first.calls, second.calls) == (0, 0)


def test_another_model_replaces_the_loaded_one(
    fake_gpu_flag_model: type[_FakeFlagModel], tmp_path: Path
) -> None:
    load_embedder("BAAI/bge-m3")
    load_embedder(str(tmp_path))
    load_embedder("BAAI/bge-m3")

    assert [b["model_name_or_path"] for b in fake_gpu_flag_model.built] == [
        "BAAI/bge-m3",
        str(tmp_path.resolve()),
        "BAAI/bge-m3",
    ]


def test_the_model_and_batch_size_come_from_the_environment() -> None:
    configured = Settings.from_env(
        {"AURA_EMBEDDING_MODEL": "/models/bge-m3", "AURA_EMBEDDING_BATCH_SIZE": "16"}
    )
    default = Settings.from_env({})

    assert (configured.embedding_model, configured.embedding_batch_size) == ("/models/bge-m3", 16)
    assert (default.embedding_model, default.embedding_batch_size) == (DEFAULT_MODEL, 64)


def test_an_empty_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        resolve_model("  ")


def test_importing_the_embedding_and_vector_store_modules_does_not_import_torch() -> None:
    code = (
        "import sys, aura_platform.search.embedding, aura_platform.search.vector_store; "
        "heavy = {'torch', 'transformers', 'FlagEmbedding'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        load_embedder(DEFAULT_MODEL, batch_size=0)


def test_the_bundled_model_gives_384_dimensional_float32_unit_vectors(embedder: Embedder) -> None:
    vectors = embedder.encode(["Acme Corporation", "a much longer text about an invoice " * 20])

    assert (embedder.model_name, embedder.dimensions) == ("all-MiniLM-L6-v2", 384)
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    invoice, bill, weather = embedder.encode(
        [
            "The customer has not paid the invoice yet.",
            "The client still owes us money for the bill.",
            "It will be sunny in the mountains tomorrow.",
        ]
    )

    assert _cosine(invoice, bill) > _cosine(invoice, weather) + 0.2
    assert _cosine(invoice, bill) > _cosine(bill, weather) + 0.2


def test_each_batch_of_batch_size_texts_is_one_model_call(embedder: Embedder) -> None:
    before = embedder.calls

    embedder.encode([f"text number {i}" for i in range(10)])
    after_ten = embedder.calls
    empty = embedder.encode([])

    assert after_ten - before == 3  # batches of 4, 4 and 2
    assert embedder.calls == after_ten
    assert empty.shape == (0, 384)


def test_batched_vectors_keep_the_input_order_and_match_texts_embedded_alone(
    embedder: Embedder,
) -> None:
    texts = ["x", "Société Générale, Paris", "a longer sentence about shipping containers", "ok"]

    together = embedder.encode(texts)
    alone = np.stack([embedder.encode([text])[0] for text in texts])

    np.testing.assert_allclose(together, alone, atol=1e-5)
