"""Which embedding backend ``auto`` stands for, and where the ONNX exports go."""

import os
from dataclasses import replace
from pathlib import Path

import pytest

from agent.config.derived import knowledge_config
from agent.config.settings import Settings
from knowledge.backend_choice import resolve_backend
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import export_pending
from knowledge.errors import KnowledgeError


def test_auto_is_onnx_for_the_packaged_model_on_the_cpu() -> None:
    assert resolve_backend("auto", None, "cpu") == "onnx"


def test_auto_is_torch_on_a_gpu_or_for_a_model_onnx_cannot_run(tmp_path: Path) -> None:
    assert resolve_backend("auto", None, "cuda") == "torch"
    assert resolve_backend("auto", "sentence-transformers/all-mpnet-base-v2", "cpu") == "torch"
    assert resolve_backend("auto", str(tmp_path), "cpu") == "torch"  # not a model folder


def test_a_chosen_backend_is_kept_and_an_unknown_one_is_refused() -> None:
    assert resolve_backend("torch", None, "cpu") == "torch"
    assert resolve_backend("onnx-int8", None, "cpu") == "onnx-int8"
    with pytest.raises(KnowledgeError, match="use one of auto, torch, onnx, onnx-int8"):
        resolve_backend("tensorflow", None, "cpu")


def test_the_settings_default_resolves_to_onnx_with_the_models_folder(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, embedding_models_dir=None)  # type: ignore[call-arg]
    config = knowledge_config(settings)
    assert settings.embedding_backend == "auto"
    assert config.backend == "onnx"
    assert config.models_dir == tmp_path / "models"
    shared = Settings(_env_file=None, data_dir=tmp_path, embedding_models_dir=tmp_path / "m")  # type: ignore[call-arg]
    assert knowledge_config(shared).models_dir == tmp_path / "m"


def test_an_export_is_pending_until_the_models_folder_holds_a_current_one(tmp_path: Path) -> None:
    shared = Path(os.environ["DESKHAND_EMBEDDING_MODELS_DIR"])  # exported by tests/conftest.py
    onnx = KnowledgeConfig(tmp_path / "chroma", backend="onnx", models_dir=shared)
    assert export_pending(onnx) is False
    assert export_pending(replace(onnx, models_dir=tmp_path / "models")) is True
    assert export_pending(replace(onnx, backend="torch", models_dir=tmp_path)) is False
