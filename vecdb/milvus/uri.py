"""Which backend a database location names, and how to reach it.

    milvus://host:19530[?token=..&db=..&index=HNSW&consistency=Bounded]   Milvus over gRPC/HTTP
    milvus+https://host:443[...]                                          the same over TLS
    milvus-lite://PATH                                                    a local Milvus Lite database
Anything else is a local vecdb directory. The token may also come from $MILVUS_TOKEN.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..errors import InvalidArgument

SCHEMES = ("milvus://", "milvus+http://", "milvus+https://", "milvus-lite://")
OPTIONS = {"token", "db", "index", "consistency", "nlist", "nprobe", "M", "efConstruction", "ef"}


@dataclass(frozen=True)
class MilvusTarget:
    uri: str                 # what MilvusClient gets: http(s)://host:port or a Lite path
    lite: bool
    token: str = ""
    db_name: str = ""
    options: dict = field(default_factory=dict)  # index / consistency settings

    def display(self) -> str:
        return self.uri if self.lite else self.uri + (f"/{self.db_name}" if self.db_name else "")


def is_milvus(location) -> bool:
    return isinstance(location, str) and location.startswith(SCHEMES)


def parse(location: str, backend: str | None = None) -> MilvusTarget:
    """A MilvusTarget for a milvus URI, or for any URI/path when backend == 'milvus'."""
    if not isinstance(location, str) or not location.strip():
        raise InvalidArgument("uri: must be a non-empty string", argument="uri")
    if location.startswith("milvus-lite://"):
        return _lite(location[len("milvus-lite://"):])
    if location.startswith(("milvus://", "milvus+http://", "milvus+https://")):
        scheme = "https" if location.startswith("milvus+https://") else "http"
        return _server(scheme + "://" + location.split("://", 1)[1])
    if backend == "milvus":
        if location.startswith(("http://", "https://")):
            return _server(location)
        return _lite(location)
    raise InvalidArgument(f"uri: {location!r} is not a Milvus URI (milvus://, milvus+https://, milvus-lite://)",
                          argument="uri")


def _lite(path: str) -> MilvusTarget:
    path, _, query = path.partition("?")
    if not path:
        raise InvalidArgument("uri: milvus-lite:// needs a path, e.g. milvus-lite://./vectors.db", argument="uri")
    p = Path(path).expanduser()
    if p.suffix != ".db":  # Milvus Lite only accepts names ending in .db
        raise InvalidArgument(f"uri: a Milvus Lite path must end in .db, got {path!r}", argument="uri")
    p.parent.mkdir(parents=True, exist_ok=True)
    return MilvusTarget(str(p.resolve()), True, options=_options(query))


def _server(url: str) -> MilvusTarget:
    parts = urlsplit(url)
    if not parts.hostname:
        raise InvalidArgument(f"uri: no host in {url!r}", argument="uri")
    opts = _options(parts.query)
    token = opts.pop("token", "") or os.environ.get("MILVUS_TOKEN", "")
    if parts.username:
        token = f"{parts.username}:{parts.password or ''}"
    db_name = opts.pop("db", "") or parts.path.strip("/")
    port = parts.port or (443 if parts.scheme == "https" else 19530)
    return MilvusTarget(f"{parts.scheme}://{parts.hostname}:{port}", False, token, db_name, opts)


def _options(query: str) -> dict:
    opts = dict(parse_qsl(query, keep_blank_values=False))
    unknown = set(opts) - OPTIONS
    if unknown:
        raise InvalidArgument(f"uri: unknown option(s) {', '.join(sorted(unknown))}; valid: "
                              f"{', '.join(sorted(OPTIONS))}", argument="uri")
    return opts
