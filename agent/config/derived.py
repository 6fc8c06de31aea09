"""The smaller configs other packages take, derived from the process settings."""

from agent.config.settings import Settings
from agent.llm.config import LLMConfig
from knowledge.backend_choice import resolve_backend
from knowledge.config import KnowledgeConfig


def knowledge_config(settings: Settings) -> KnowledgeConfig:
    return KnowledgeConfig(
        persist_dir=settings.chroma_path,
        chroma_url=settings.chroma_url,
        embedding_model=settings.embedding_model,
        device=settings.embedding_device,
        backend=resolve_backend(
            settings.embedding_backend, settings.embedding_model, settings.embedding_device
        ),
        models_dir=settings.models_dir,
        reranker_model=settings.reranker_model,
    )


def llm_config(settings: Settings) -> LLMConfig | None:
    """None when no model endpoint is configured (the degraded path serves)."""
    return LLMConfig.from_settings(settings) if settings.llm_base_url else None
