"""Which embedding backend ``auto`` stands for, decided from the settings alone.

Light on purpose (JSON reads, no torch, no Chroma): the CLI derives its configs from it
at start-up.
"""

from knowledge.config import BACKENDS, EmbeddingBackend
from knowledge.errors import KnowledgeError
from knowledge.onnx_model import resolve_spec

AUTO = "auto"


def resolve_backend(wanted: str, model: str | None, device: str) -> EmbeddingBackend:
    """``onnx`` for ``auto`` where it can run ``model`` (on the CPU: the packaged model or a
    local folder of its architecture), else ``torch``; any other value as it is, once checked.

    The ONNX backend runs the same model at about 40 % of torch's CPU per query (a worker
    embeds the query of every turn), with the same vectors to 1e-6; a model it cannot run
    keeps torch rather than failing.
    """
    if wanted != AUTO:
        if wanted not in BACKENDS:
            choices = ", ".join((AUTO, *BACKENDS))
            raise KnowledgeError(f"unknown embedding backend {wanted!r}: use one of {choices}")
        return wanted
    if device != "cpu":
        return "torch"
    try:
        resolve_spec(model, "onnx")
    except KnowledgeError:
        return "torch"
    return "onnx"
