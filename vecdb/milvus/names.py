"""vecdb collection names <-> Milvus collection names.

Milvus allows letters, digits and underscores, starting with a letter or underscore; vecdb names may
also hold '-' and '.' and start with a digit. The mapping is reversible: '_' -> '__', '-' -> '_h',
'.' -> '_d', and a leading digit gets '_n' in front."""
from __future__ import annotations

ESCAPES = {"_": "__", "-": "_h", ".": "_d"}
UNESCAPES = {"_": "_", "h": "-", "d": "."}


def to_milvus(name: str) -> str:
    out = "".join(ESCAPES.get(ch, ch) for ch in name)
    return "_n" + out if out[:1].isdigit() else out


def from_milvus(name: str) -> str | None:
    """The vecdb name, or None for a Milvus name this mapping cannot have made."""
    out, i = [], 0
    if name.startswith("_n"):
        i = 2
    while i < len(name):
        ch = name[i]
        if ch != "_":
            out.append(ch)
            i += 1
            continue
        nxt = name[i + 1:i + 2]
        if nxt not in UNESCAPES:
            return None
        out.append(UNESCAPES[nxt])
        i += 2
    return "".join(out)
