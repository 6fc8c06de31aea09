"""The ONNX embedding backends: which models they accept, the export, and their vectors.

The slow tests export the packaged model once for the module (into a temporary
models folder) and compare the vectors with the torch backend's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge import (
    Document,
    KnowledgeConfig,
    KnowledgeError,
    KnowledgeStore,
    KnowledgeUnavailable,
    SentenceTransformerEmbeddings,
)
from knowledge.embeddings import onnx_dir
from knowledge.onnx_export import FP32_FILE, INT8_FILE, ensure_export, stamp_of
from knowledge.onnx_model import packaged_model_dir, resolve_spec

REPO = Path(__file__).resolve().parents[3]
DEMO_KB = REPO / "agent" / "demo" / "kb"
EDGE_CASES = [
    "",
    "   leading and trailing spaces   ",
    "Ünïcödé, naïve café, 日本語のテキスト, emoji 🎉",
    "refund " * 600,  # far longer than the 256 tokens the model reads
    "How long does a refund take?",
]


def _texts() -> list[str]:
    articles = sorted(DEMO_KB.glob("*.md"))[:12]
    return [path.read_text(encoding="utf-8")[:1200] for path in articles] + EDGE_CASES


def _cosines(left: object, right: object) -> np.ndarray:
    a, b = np.asarray(left), np.asarray(right)
    cosines: np.ndarray = (a * b).sum(axis=1) / (
        np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    )
    return cosines


# --- which models and settings the ONNX backends accept (no model is loaded) ---


def test_a_hub_name_is_refused_with_a_pointer_to_torch(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"not a local folder.*use the torch backend"):
        SentenceTransformerEmbeddings(
            "sentence-transformers/all-mpnet-base-v2", backend="onnx", models_dir=tmp_path
        )


def test_a_local_model_of_another_architecture_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (model / "modules.json").write_text(json.dumps(modules))
    pooling = {"word_embedding_dimension": 384, "pooling_mode_cls_token": True}
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))

    with pytest.raises(KnowledgeError, match="pooling"):
        resolve_spec(str(model), "onnx")

    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "mean"}))
    (model / "config.json").write_text(json.dumps({"model_type": "xlm-roberta"}))
    with pytest.raises(KnowledgeError, match="'xlm-roberta' is not BERT"):
        resolve_spec(str(model), "onnx-int8")


def test_a_copy_of_the_packaged_model_is_accepted(tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(packaged_model_dir(), tmp_path / "my-minilm"))

    spec = resolve_spec(str(copy), "onnx")

    assert (spec.max_seq_length, spec.lowercase) == (256, False)
    assert spec.tokenizer_file == copy / "tokenizer.json"
    assert spec.fingerprint() != resolve_spec(None, "onnx").fingerprint()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"backend": "onnx", "device": "cuda"}, "runs on the CPU"),
        ({"backend": "onnx-int8"}, "needs a models_dir"),
        ({"backend": "tensorrt"}, "unknown embedding backend"),
    ],
)
def test_unusable_backend_settings_fail_when_the_store_opens(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    config = KnowledgeConfig(persist_dir=tmp_path / "chroma", **settings)  # type: ignore[arg-type]

    with pytest.raises(KnowledgeError, match=message):
        KnowledgeStore.open(config)


def test_importing_the_backends_imports_no_model_library() -> None:
    code = (
        "import sys, knowledge, knowledge.embeddings, knowledge.onnx_backend, "
        "knowledge.onnx_export, knowledge.onnx_model; "
        "print(sorted(m for m in ('sentence_transformers', 'torch', 'transformers', "
        "'onnxruntime', 'onnx', 'tokenizers') if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "[]"


# --- the export and the vectors (slow: the model is exported and loaded) ---


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return np.asarray(SentenceTransformerEmbeddings().embed(_texts()))


@pytest.mark.slow
def test_the_onnx_backend_matches_torch(models_dir: Path, torch_vectors: np.ndarray) -> None:
    embeddings = SentenceTransformerEmbeddings(backend="onnx", models_dir=models_dir)

    vectors = np.asarray(embeddings.embed(_texts()))

    assert vectors.shape == torch_vectors.shape
    assert _cosines(vectors, torch_vectors).min() > 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (onnx_dir(models_dir, None) / FP32_FILE).is_file()


@pytest.mark.slow
def test_the_int8_backend_stays_close_to_torch(models_dir: Path, torch_vectors: np.ndarray) -> None:
    embeddings = SentenceTransformerEmbeddings(backend="onnx-int8", models_dir=models_dir)

    cosines = _cosines(embeddings.embed(_texts()), torch_vectors)

    print(f"\nint8 against torch: cosine min {cosines.min():.4f}, mean {cosines.mean():.4f}")
    assert cosines.min() > 0.97
    assert cosines.mean() > 0.99
    directory = onnx_dir(models_dir, None)
    assert (directory / INT8_FILE).stat().st_size < (directory / FP32_FILE).stat().st_size / 2


@pytest.mark.slow
def test_an_export_is_made_once_then_reused(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = resolve_spec(None, "onnx")
    directory = onnx_dir(models_dir, None)
    ensure_export(spec, directory, quantized=False)
    before = (directory / FP32_FILE).stat().st_mtime_ns

    def forbidden(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr("knowledge.onnx_export._torch_export", forbidden)

    assert ensure_export(spec, directory, quantized=False) == directory / FP32_FILE
    assert (directory / FP32_FILE).stat().st_mtime_ns == before
    assert stamp_of(directory / FP32_FILE) == spec.fingerprint()


@pytest.mark.slow
def test_a_damaged_or_stale_export_is_replaced(tmp_path: Path) -> None:
    spec = resolve_spec(None, "onnx")
    directory = tmp_path / "onnx"
    directory.mkdir()
    (directory / FP32_FILE).write_bytes(b"half an export")

    ensure_export(spec, directory, quantized=False)

    assert stamp_of(directory / FP32_FILE) == spec.fingerprint()
    assert sorted(path.name for path in directory.iterdir()) == [FP32_FILE]


def test_a_failed_export_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(spec: object, target: Path) -> None:
        target.write_bytes(b"the first megabytes of an export")
        raise RuntimeError("killed while exporting")

    monkeypatch.setattr("knowledge.onnx_export._torch_export", half_written)
    directory = tmp_path / "onnx"

    with pytest.raises(KnowledgeUnavailable, match="killed while exporting"):
        ensure_export(resolve_spec(None, "onnx"), directory, quantized=False)

    assert list(directory.iterdir()) == []


@pytest.mark.slow
def test_a_failed_rename_leaves_no_temporary_file(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "onnx"
    directory.mkdir()
    source = onnx_dir(models_dir, None) / FP32_FILE
    if not source.is_file():
        ensure_export(resolve_spec(None, "onnx"), onnx_dir(models_dir, None), quantized=False)
    (directory / FP32_FILE).write_bytes(source.read_bytes())  # a current fp32 export

    def failing(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing)

    with pytest.raises(KnowledgeUnavailable, match="disk full"):
        ensure_export(resolve_spec(None, "onnx-int8"), directory, quantized=True)

    assert sorted(path.name for path in directory.iterdir()) == [FP32_FILE]


@pytest.mark.slow
def test_an_exported_model_runs_without_torch(models_dir: Path) -> None:
    ensure_export(resolve_spec(None, "onnx"), onnx_dir(models_dir, None), quantized=False)
    code = (
        "import sys; from pathlib import Path; "
        "from knowledge.embeddings import SentenceTransformerEmbeddings as E; "
        f"e = E(backend='onnx', models_dir=Path({str(models_dir)!r})); "
        "print(len(e.embed(['where is my parcel'])[0]), "
        "sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "384 []"


@pytest.mark.slow
def test_a_collection_embedded_with_torch_is_searched_and_synced_with_onnx(
    models_dir: Path, tmp_path: Path
) -> None:
    documents = [
        Document(source="refunds.md", title="Refunds", text="Refunds take five business days."),
        Document(source="pets.md", title="Pets", text="Dogs on a leash are welcome."),
    ]
    torch_store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path / "chroma"))
    torch_store.sync_documents("demo", documents)
    onnx_config = KnowledgeConfig(
        persist_dir=tmp_path / "chroma", backend="onnx", models_dir=models_dir
    )

    onnx_store = KnowledgeStore.open(onnx_config)

    [by_torch] = torch_store.search("demo", "how long does a refund take", k=1)
    [by_onnx] = onnx_store.search("demo", "how long does a refund take", k=1)
    assert by_onnx.chunk_id == by_torch.chunk_id
    assert by_onnx.score == pytest.approx(by_torch.score, abs=1e-3)
    assert onnx_store.sync_documents("demo", documents).unchanged == 2
