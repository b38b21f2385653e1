"""Milvus backend: collections stored in Milvus (Lite, Standalone or Distributed) through pymilvus."""
