from .store import BatchResult, CollectionRow, DocWrite, Store, dumps_metadata

__all__ = ["Store", "CollectionRow", "DocWrite", "BatchResult", "dumps_metadata"]
