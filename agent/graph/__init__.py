"""The LangGraph state machine of one support turn."""
