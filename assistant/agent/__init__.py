"""The LLM agent: a LangChain ``create_agent`` over the production service."""
