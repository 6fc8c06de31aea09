"""Which embedding backend ``auto`` stands for, and where the ONNX exports go."""

from pathlib import Path

import pytest

from agent.config.derived import knowledge_config
from agent.config.settings import Settings
from knowledge.backend_choice import resolve_backend
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
