"""The embedding registry (pure) and the bundled all-MiniLM-L6-v2 model (real weights, CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aura_platform.lib.embedding import (
    DEFAULT_MODEL,
    Embedder,
    load_embedder,
    resolve_model,
)


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


def test_an_empty_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        resolve_model("  ")


def test_importing_the_embedding_and_vector_store_modules_does_not_import_torch() -> None:
    code = (
        "import sys, aura_platform.lib.embedding, aura_platform.lib.vector_store; "
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
