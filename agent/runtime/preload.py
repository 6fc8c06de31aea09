"""What a worker supervisor loads once, before it forks: the code, the TLS context of its
HTTP clients and the embedding model.

A worker process started from scratch spends seconds importing (LangGraph, Chroma,
torch and sentence-transformers) and loading the embedding model. Done once in the
supervisor, every forked worker starts with them in memory, shared copy-on-write.

Only what is safe to fork is loaded: the torch model on the CPU, loaded with one torch
thread so that no OpenMP thread pool exists in the parent (a child that inherits a used
pool hangs on its first parallel step). ONNX
sessions start their thread pools when created and GPU contexts do not survive a fork:
for those backends and devices the libraries are imported only and each child loads its
model, as a worker without a supervisor does.
"""

import logging
import os

from agent.config.derived import knowledge_config
from agent.config.settings import Settings

log = logging.getLogger(__name__)


def preload(settings: Settings) -> bool:
    """Import what a worker runs and load its embedding model if that is fork-safe;
    whether the model is now in memory.

    Raises KnowledgeError when the configured model cannot be loaded (the caller warns:
    the children will try again, and turns take the degraded path until one loads).
    """
    import agent.components  # noqa: F401 - the imports are the point
    from tools.tls import default_tls_context

    default_tls_context()  # the CA bundle parsed once, not in every worker's HTTP clients
    config = knowledge_config(settings)
    # Idle OpenMP threads sleep instead of spinning (set before torch is imported, as the
    # embedding module does when it loads the model itself).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if config.backend != "torch":
        import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
        import tokenizers  # noqa: F401

        return False
    import sentence_transformers  # noqa: F401
    import torch

    threads = torch.get_num_threads()
    if config.device != "cpu":
        return False
    from knowledge.embeddings import SentenceTransformerEmbeddings

    torch.set_num_threads(1)
    try:
        SentenceTransformerEmbeddings.from_config(config).warm_up()
    finally:
        torch.set_num_threads(threads)
    return True
