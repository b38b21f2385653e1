"""One error hierarchy. Every message names the bad argument."""


class VecdbError(Exception):
    """Base class for every error vecdb raises on purpose."""

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class InvalidArgument(VecdbError, ValueError):
    """An argument failed validation at the boundary."""


class InvalidFilter(InvalidArgument):
    """A `where` filter is malformed."""


class LimitExceeded(InvalidArgument):
    """An input is over one of the limits in vecdb.limits; `limit` names it (e.g. "MAX_TEXT_CHARS")."""

    def __init__(self, message: str, *, argument: str | None = None, limit: str | None = None):
        super().__init__(message, argument=argument)
        self.limit = limit


class NotFound(VecdbError, LookupError):
    """A named thing (collection, model) does not exist."""


class CollectionNotFound(NotFound):
    pass


class CollectionExists(VecdbError):
    pass


class ModelNotAvailable(NotFound):
    """A model cannot be loaded here (for example, a hub model while offline)."""


class SpecMismatch(VecdbError):
    """An embedder's spec differs from the collection's recorded spec."""

    def __init__(self, collection: str, diffs: dict):
        parts = ", ".join(f"{k}: collection has {a!r}, embedder has {b!r}" for k, (a, b) in diffs.items())
        super().__init__(f"embedding spec of collection {collection!r} differs in {parts}", argument="model")
        self.diffs = diffs


class StorageError(VecdbError, OSError):
    """The database directory cannot be used (not writable, corrupt, ...)."""


class UpstreamError(VecdbError):
    """A chat endpoint or generator failed: unreachable, timed out, or answered with an error."""


class Unsupported(InvalidArgument):
    """The operation exists only on another backend (for example, local-only features on Milvus)."""
