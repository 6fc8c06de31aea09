"""The scripted model server: an OpenAI-compatible stand-in for vLLM, for tests and demos.

Answers from a ``Script`` (responses in order), a ``Cassette`` (responses keyed by the
request) or any ``Responder``; reproduces vLLM/Qwen3.5 quirks on demand; records requests.
"""

from agent.llm.stub.script import (
    Cassette,
    CassetteEntry,
    Quirks,
    Responder,
    ResponderError,
    Script,
    ScriptedResponse,
    ScriptedToolCall,
    ScriptFileError,
    canonical_request,
    load_cassette,
    load_script,
    request_key,
)
from agent.llm.stub.server import (
    RecordedRequest,
    ScriptedModelServer,
    create_stub_app,
)

__all__ = [
    "Cassette",
    "CassetteEntry",
    "Quirks",
    "RecordedRequest",
    "Responder",
    "ResponderError",
    "Script",
    "ScriptFileError",
    "ScriptedModelServer",
    "ScriptedResponse",
    "ScriptedToolCall",
    "canonical_request",
    "create_stub_app",
    "load_cassette",
    "load_script",
    "request_key",
]
