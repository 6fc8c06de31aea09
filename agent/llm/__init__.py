"""The OpenAI-compatible model client, Qwen3.5 quirk handling and the scripted model server."""
