from .store import BatchResult, CollectionRow, Store

__all__ = ["Store", "CollectionRow", "BatchResult"]
