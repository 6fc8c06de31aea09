"""What a worker supervisor loads once, before it forks: the code (with the modules its
libraries import on first use), the BM25 tokenizer's pattern, the TLS context of its HTTP
clients and the embedding model.

A worker process started from scratch spends seconds importing (LangGraph, Chroma,
torch and sentence-transformers) and loading the embedding model. Done once in the
supervisor, every forked worker starts with them in memory, shared copy-on-write.

Only what is safe to fork is loaded: the torch model on the CPU, loaded with one torch
thread so that no OpenMP thread pool exists in the parent (a child that inherits a used
pool hangs on its first parallel step); the workers keep that one thread. The ONNX
session is opened with one thread for the same reason (a session with more starts its
pool when created). GPU contexts do not survive a fork: on a GPU the libraries are
imported only and each child loads its model, as a worker without a supervisor does.
"""

import importlib
import logging
import os

from agent.config.derived import knowledge_config
from agent.config.settings import Settings
from knowledge.config import KnowledgeConfig
from knowledge.errors import KnowledgeUnavailable

log = logging.getLogger(__name__)

# Modules that the libraries of a turn import on first use, not when they are imported
# themselves. Left to the children, each forked worker imports them again during its first
# turns (about 0.4 s of CPU per fork on the 2-core development machine). Importing starts
# no thread; a module that is not installed (trio is optional) is skipped.
FIRST_USE_IMPORTS = (
    "anyio._backends._asyncio",  # on httpx's first request
    "httpcore._backends.anyio",
    "trio",  # httpcore looks for it on its first request when it is installed
    "chromadb.api.rust",  # the embedded Chroma client's implementation
    "chromadb.api.fastapi",  # the HTTP Chroma client's implementation
    "chromadb.telemetry.product.posthog",  # named by Chroma's default settings
)


def preload(settings: Settings) -> bool:
    """Import what a worker runs and load its embedding model if that is fork-safe;
    whether the model is now in memory.

    Raises KnowledgeError when the configured model cannot be loaded (the caller warns:
    the children will try again, and turns take the degraded path until one loads).
    """
    import agent.components  # noqa: F401 - the imports are the point
    from knowledge import bm25
    from tools.tls import default_tls_context

    import_first_use_modules()
    bm25.prepare()
    default_tls_context()  # the CA bundle parsed once, not in every worker's HTTP clients
    config = knowledge_config(settings)
    # Idle OpenMP threads sleep instead of spinning (set before torch is imported, as the
    # embedding module does when it loads the model itself).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if config.backend != "torch":
        return _preload_onnx(config)
    import sentence_transformers  # noqa: F401
    import torch

    if config.device != "cpu":
        return False
    from knowledge.embeddings import SentenceTransformerEmbeddings

    # One torch thread, in the supervisor (no OpenMP pool to inherit) and in the workers,
    # which inherit the setting: a query is a tiny input, and a worker embeds for many
    # turns at once in threads of its own. Measured on the 2-core machine, a query costs
    # 20 ms of CPU in 20.5 ms with one thread, 30 ms in 22.7 ms with two.
    torch.set_num_threads(1)
    SentenceTransformerEmbeddings.from_config(config).warm_up()
    return True


def import_first_use_modules() -> None:
    """Import ``FIRST_USE_IMPORTS``, skipping those that are not installed."""
    for name in FIRST_USE_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            log.debug("not preloaded (not installed): %s", name)


def _preload_onnx(config: KnowledgeConfig) -> bool:
    """Open the ONNX session (exporting the model first if needed) with one thread, which
    the forked workers share: one thread starts no pool, and a query is a tiny input."""
    from agent.runtime.supervisor import run_in_child
    from knowledge import onnx_backend
    from knowledge.embeddings import SentenceTransformerEmbeddings, export_model, export_pending

    models_dir = config.models_dir
    if models_dir is not None and export_pending(config):
        # torch makes the export, and its threads must not be in the parent: a forked
        # process makes it; should it fail, the parent does not try again.
        run_in_child(lambda: export_model(config.embedding_model, models_dir, config.backend))
        if export_pending(config):
            raise KnowledgeUnavailable(f"the embedding model could not be exported to {models_dir}")
    # The tokenizer's own thread pool (used for batches) would be started in the parent.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    onnx_backend.use_threads(1)
    SentenceTransformerEmbeddings.from_config(config).warm_up()
    return True
