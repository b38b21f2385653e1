"""The pooling registry: the one list of pooling modes (no torch here, so importing vecdb stays light).

A mode is a name plus how to build its pooler, an object `(hidden_states, mask) -> vectors` with `out_dim`
and `sees_instruction`. Fixed modes point at a pure function, trainable ones at a TrainablePooler class;
both are given as "module:attribute" (imported on first use) or as the object itself."""
from __future__ import annotations

import importlib
from typing import Callable, Iterator

from ..errors import InvalidArgument


class PoolingMode(str):
    """A registered pooling mode; compares equal to its name."""

    def __new__(cls, name: str, target: "str | Callable", *, trainable: bool = False, reads_last: bool = False,
                sees_instruction: bool = False, trains_as: str | None = None, aliases: tuple[str, ...] = ()):
        self = super().__new__(cls, name)
        self.target = target
        self.trainable = trainable
        self.reads_last = reads_last            # reads the last token: decoders append EOS for it
        self.sees_instruction = sees_instruction  # reads one token that has seen the whole prompt
        self.trains_as = trains_as or (name if trainable else "linear")  # what `vecdb train --mode pooling` trains
        self.aliases = aliases
        return self

    @property
    def value(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Pooling({str(self)!r})"

    def __reduce__(self):
        return (Pooling.parse, (str(self),))

    def resolve_target(self):
        if not isinstance(self.target, str):
            return self.target
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def build(self, dim: int, out_dim: int | None = None):
        """A fresh pooler over hidden states of width `dim` (an untrained one, for trainable modes)."""
        from .pooling import FixedPooler  # torch loads here

        target = self.resolve_target()
        if self.trainable:
            pooler = target(dim, out_dim)
            pooler.mode = self
            return pooler
        return FixedPooler(self, target, dim)


_MODES: dict[str, PoolingMode] = {}
_ALIASES: dict[str, str] = {}


def _key(name: str) -> str:
    return str(name).strip().lower()


class _Registry(type):
    """Class-level access: `Pooling.MEAN`, `for mode in Pooling`, `"mean" in Pooling`."""

    def __iter__(cls) -> Iterator[PoolingMode]:
        return iter(list(_MODES.values()))

    def __len__(cls) -> int:
        return len(_MODES)

    def __contains__(cls, name) -> bool:
        return _ALIASES.get(_key(name), _key(name)) in _MODES

    def __getattr__(cls, attr: str) -> PoolingMode:
        mode = _MODES.get(attr.lower().replace("_", "-")) if attr.isupper() else None
        if mode is None:
            raise AttributeError(attr)
        return mode


class Pooling(metaclass=_Registry):
    """The registry of pooling modes."""

    @staticmethod
    def parse(value: "str | PoolingMode") -> PoolingMode:
        if isinstance(value, PoolingMode) and _MODES.get(str(value)) is value:
            return value
        key = _key(value)
        mode = _MODES.get(_ALIASES.get(key, key))
        if mode is None:
            raise InvalidArgument(f"pooling: unknown value {value!r}; valid values: {', '.join(_MODES)}",
                                  argument="pooling")
        return mode

    @staticmethod
    def register(name: str, target: "str | Callable", **kwargs) -> PoolingMode:
        """Add a mode. `target`: a function (h, mask) -> vectors, or with trainable=True a TrainablePooler class."""
        key = _key(name)
        if key in _MODES or key in _ALIASES:
            raise ValueError(f"pooling mode {name!r} is already registered")
        mode = PoolingMode(key, target, **kwargs)
        _MODES[key] = mode
        for alias in mode.aliases:
            _ALIASES[_key(alias)] = key
        return mode

    @staticmethod
    def unregister(name: str) -> None:
        mode = _MODES.pop(_key(name))
        for alias in mode.aliases:
            _ALIASES.pop(_key(alias), None)

    @staticmethod
    def names(trainable: bool | None = None) -> list[str]:
        return [m.value for m in _MODES.values() if trainable is None or m.trainable == trainable]


def pool(mode: "PoolingMode | str", h, mask):
    """Pool hidden states (batch, tokens, dim) over a 0/1 mask (batch, tokens) with a fixed mode."""
    mode = Pooling.parse(mode)
    if mode.trainable:
        raise InvalidArgument(f"pooling: {mode.value!r} is a trainable layer, not a pure function", argument="pooling")
    return mode.resolve_target()(h, mask)


# The modes. Nothing else in vecdb lists them.
Pooling.register("mean", "vecdb.embed.pooling:mean")
Pooling.register("cls", "vecdb.embed.pooling:cls", sees_instruction=True)
Pooling.register("last-token", "vecdb.embed.pooling:last_token", reads_last=True, sees_instruction=True,
                 trains_as="last-linear", aliases=("eos", "last", "lasttoken", "last_token"))
Pooling.register("weighted-mean", "vecdb.embed.pooling:weighted_mean", aliases=("weighted_mean", "sgpt"))
Pooling.register("max", "vecdb.embed.pooling:max_")
Pooling.register("attention", "vecdb.embed.trainable:AttentionPooler", trainable=True)
Pooling.register("linear", "vecdb.embed.trainable:LinearPooler", trainable=True)
Pooling.register("last-linear", "vecdb.embed.trainable:LastLinearPooler", trainable=True, reads_last=True,
                 sees_instruction=True)
