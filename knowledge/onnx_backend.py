"""Run an exported sentence-transformers model with onnxruntime on the CPU.

The same pipeline as sentence-transformers: the model's own fast tokenizer
(truncated at its ``max_seq_length``), the transformer, mean pooling over the
attention mask, L2 normalisation. Texts are sorted by length before batching, as
sentence-transformers does, so that little time goes to padding. Neither torch nor
sentence-transformers is imported, unless the model has to be exported first.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.errors import KnowledgeUnavailable
from knowledge.onnx_export import FINGERPRINT_KEY, OUTPUT_NAME, ensure_export, export_file
from knowledge.onnx_model import OnnxModelSpec

MAX_THREADS = 8  # beyond this, one encode call gains little and starves the rest of the process
_session_threads: int | None = None  # use_threads(); None: cpu_threads()

Vectors = npt.NDArray[np.float32]


class OnnxEncoder:
    """Encodes texts into L2-normalised vectors; not thread-safe (the caller holds a lock)."""

    def __init__(self, session: Any, tokenizer: Any, lowercase: bool) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._lowercase = lowercase
        self._inputs = {item.name for item in session.get_inputs()}
        self.dimension = int(session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        prepared = [text.lower() for text in texts] if self._lowercase else list(texts)
        encodings = self._tokenizer.encode_batch(prepared)
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        vectors = np.empty((len(encodings), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            vectors[rows] = self._encode_batch([encodings[i].ids for i in rows])
        return vectors

    def _encode_batch(self, token_ids: list[list[int]]) -> Vectors:
        width = max(len(ids) for ids in token_ids)
        input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run([OUTPUT_NAME], feeds)[0]
        return mean_pool_normalised(hidden, mask)


def mean_pool_normalised(hidden: npt.NDArray[Any], mask: npt.NDArray[np.int64]) -> Vectors:
    """sentence-transformers' mean pooling, then its Normalize module (eps as in torch)."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    normalised: Vectors = (pooled / norms).astype(np.float32)
    return normalised


def load_encoder(spec: OnnxModelSpec, directory: Path, quantized: bool) -> OnnxEncoder:
    """Open the export in ``directory`` (exporting it first when missing or stale)."""
    fingerprint = spec.fingerprint()
    path = export_file(directory, quantized)
    session = _current_session(path, fingerprint)
    if session is None:
        ensure_export(spec, directory, quantized)
        session = _current_session(path, fingerprint)
    if session is None:
        raise KnowledgeUnavailable(f"the ONNX export {path} cannot be opened")
    return OnnxEncoder(session, _tokenizer(spec), spec.lowercase)


def _current_session(path: Path, fingerprint: str) -> Any:
    """An inference session on ``path`` if it exists and carries ``fingerprint``; else None."""
    import onnxruntime  # type: ignore[import-untyped]

    if not path.is_file():
        return None
    try:
        session = onnxruntime.InferenceSession(
            str(path), _session_options(), providers=["CPUExecutionProvider"]
        )
    except Exception:  # unreadable: re-exported by the caller
        return None
    stamp = session.get_modelmeta().custom_metadata_map.get(FINGERPRINT_KEY)
    return session if stamp == fingerprint else None


def _session_options() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _session_threads or cpu_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no warnings about unused initialisers
    # Idle threads sleep rather than spin: as fast for batches, and a query embedded by
    # the server does not leave two cores busy-waiting.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def use_threads(count: int) -> None:
    """Threads of the sessions this process opens from now on (a worker supervisor asks for
    one: a query is a tiny input, and one thread leaves no pool behind to fork)."""
    global _session_threads
    if count < 1:
        raise ValueError("count must be at least 1")
    _session_threads = count


def cpu_threads() -> int:
    """The CPUs this process may use (its affinity, not the machine's count), at most 8."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(available or 1, MAX_THREADS))


def _tokenizer(spec: OnnxModelSpec) -> Any:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(spec.tokenizer_file))
    except Exception as error:  # a broken tokenizer.json means no embeddings at all
        raise KnowledgeUnavailable(f"cannot load {spec.tokenizer_file}: {error}") from error
    tokenizer.no_padding()  # batches are padded here, after sorting by length
    tokenizer.enable_truncation(max_length=spec.max_seq_length)
    return tokenizer
