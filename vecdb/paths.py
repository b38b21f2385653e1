"""Where vecdb keeps user-level files."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Model caches and hashes: $VECDB_CACHE_DIR, else $XDG_CACHE_HOME/vecdb, else ~/.cache/vecdb."""
    env = os.environ.get("VECDB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vecdb"


def default_db_path() -> Path:
    """Database used when neither --db nor $VECDB_PATH is given."""
    env = os.environ.get("VECDB_PATH")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vecdb"
