"""Adapters for the frameworks RAG builders use: LangChain, LlamaIndex and MCP.

Each module imports its framework on import (install the extra: vecdb[langchain], vecdb[llamaindex],
vecdb[mcp]) and reaches vecdb only through its public API.
"""
