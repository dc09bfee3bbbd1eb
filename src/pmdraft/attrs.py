"""An event's extra facts, stored compactly: :class:`Attrs` (keys once per layout, values per
event, facts common to many events shared). Pure values, no I/O; part of :mod:`pmdraft.model`'s
layer (``model`` re-exports it)."""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

Scalar = str | int | float | bool | None
_SCALARS = (str, int, float, bool, type(None))


class _Shape:
    """The keys of one attrs layout, in order, and where each key's value sits: the first
    ``split`` values are a shared base's, the rest the mapping's own."""

    __slots__ = ("index", "keys", "own", "split")

    def __init__(self, keys: tuple[str, ...], split: int = 0) -> None:
        self.keys = keys
        self.index = {key: i for i, key in enumerate(keys)}
        self.split = split
        self.own = keys[split:]
        """The keys of the mapping's own values (after the base's)."""


_SHAPES: dict[tuple[Any, ...], _Shape] = {}
"""Layouts seen so far (a collector makes a handful), shared by every event that has one."""
MAX_SHAPES = 4096
"""Layouts kept for sharing; past this many, a new layout is still used, just not shared."""
_SCALAR_TYPES = frozenset(_SCALARS)


def _shape(keys: tuple[str, ...], base: _Shape | None) -> _Shape | None:
    """The shared layout of ``keys`` (after ``base``'s keys, if given), keys checked once;
    ``None`` when a key is also one of ``base``'s (the caller then makes one flat layout)."""
    found = _SHAPES.get((base, keys) if base else keys)
    if found is not None:
        return found
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"Event.attrs key {key!r} must be a string")
    if base is not None and not base.index.keys().isdisjoint(keys):
        return None
    made = _Shape((*base.keys, *keys), len(base.keys)) if base else _Shape(keys)
    if len(_SHAPES) >= MAX_SHAPES:
        return made
    return _SHAPES.setdefault((base, keys) if base else keys, made)


class Attrs(Mapping[str, Scalar]):
    """An event's extra facts: a read-only mapping of ``str`` to scalars, stored compactly.

    Each event keeps only a tuple of its values; the keys, in order, are kept once per layout
    and shared by every event with that layout (a collector makes a handful). Facts common to
    many events (an incident's title, an alarm's metric) can be kept once too: made into one
    ``Attrs`` and given as ``base``, they are shared, not copied, and read as if they came
    first. Reads, iteration order, equality with any mapping and ``dict(attrs)`` behave as for
    the dict ``{**base, **items}``.

    Like any Python class with ``__getitem__`` and ``__len__``, numpy takes it for a sequence:
    ``np.array(list_of_attrs, dtype=object)`` unpacks them; use ``np.fromiter(..., dtype=object)``
    (pandas ``Series`` and ``DataFrame`` keep them whole).
    """

    __slots__ = ("_base", "_shape", "_values")

    _base: Attrs | None
    _shape: _Shape
    _values: tuple[Scalar, ...]

    def __new__(cls, items: Mapping[str, Scalar] | None = None, base: Attrs | None = None) -> Attrs:
        """``items`` checked (string keys, scalar values) and copied; an ``Attrs`` is reused."""
        if type(items) is Attrs and base is None:
            return items
        given: Mapping[str, Scalar] = (
            items if type(items) is dict else {} if items is None else dict(items)
        )
        if base is not None and (type(base) is not Attrs or base._base is not None):
            base = cls(base if type(base) is not Attrs else base.to_dict())  # one flat base
        shape = _shape(tuple(given), base._shape if base else None)
        if shape is None:  # a key given again: one flat layout, as {**base, **items} would be
            return cls({**base.to_dict(), **given})  # type: ignore[union-attr]  # base is set
        values = tuple(given.values())
        if not _SCALAR_TYPES.issuperset(map(type, values)):
            for key, value in given.items():
                if not isinstance(value, _SCALARS):
                    raise TypeError(
                        f"Event.attrs[{key!r}] must be a scalar (str, int, float, bool, None), "
                        f"got {type(value).__name__}"
                    )
        made = _new(cls)
        _SET_BASE(made, base)
        _SET_SHAPE(made, shape)
        _SET_VALUES(made, values)
        return made

    def _all(self) -> tuple[Scalar, ...]:
        base = self._base
        return self._values if base is None else base._values + self._values

    def __getitem__(self, key: str) -> Scalar:
        i = self._shape.index[key]
        split = self._shape.split
        if i < split:
            return self._base._values[i]  # type: ignore[union-attr]  # split > 0: a base
        return self._values[i - split]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        i = self._shape.index.get(key)
        if i is None:
            return default
        split = self._shape.split
        if i < split:
            return self._base._values[i]  # type: ignore[union-attr]  # split > 0: a base
        return self._values[i - split]

    def __contains__(self, key: object) -> bool:
        return key in self._shape.index

    def keys(self) -> KeysView[str]:
        """The keys, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().keys()

    def items(self) -> ItemsView[str, Scalar]:
        """The items, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().items()

    def values(self) -> ValuesView[Scalar]:
        """The values, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._shape.keys)

    def __len__(self) -> int:
        return len(self._shape.keys)

    def __eq__(self, other: object) -> bool:
        if type(other) is Attrs and other._shape is self._shape and other._base is self._base:
            return self._values == other._values
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # read-only, but like dict never a dict key

    def parts(self) -> tuple[Attrs | None, dict[str, Scalar]]:
        """Its shared base (``None`` without one) and a new plain dict of its own items: the
        base's items then these are :meth:`to_dict`'s, in order, no key in both (a writer can
        encode a base that many events share once)."""
        return self._base, dict(zip(self._shape.own, self._values, strict=True))

    def replaced(self, changes: Mapping[str, Scalar]) -> Attrs:
        """``{**self, **changes}`` as an ``Attrs``: the base still shared when no change is to
        one of its keys, and made without checking this mapping's own values again (a moved
        breach start changes three of an alarm event's 14 facts: about 2 us, where a flat copy
        takes 6 us)."""
        shape, base = self._shape, self._base
        index, split = shape.index, shape.split
        if any(index.get(key, split) < split for key in changes):
            return Attrs({**self.to_dict(), **changes})  # a change to the base: one flat copy
        own, values = shape.own, list(self._values)
        added: list[str] = []
        for key, value in changes.items():
            if type(value) not in _SCALAR_TYPES and not isinstance(value, _SCALARS):
                raise TypeError(
                    f"Event.attrs[{key!r}] must be a scalar (str, int, float, bool, None), "
                    f"got {type(value).__name__}"
                )
            i = index.get(key)
            if i is None:
                added.append(key)
                values.append(value)
            else:
                values[i - split] = value
        made_shape = shape
        if added:
            found = _shape((*own, *added), base._shape if base is not None else None)
            assert found is not None  # no added key is one of the base's (checked above)
            made_shape = found
        made = _new(Attrs)
        _SET_BASE(made, base)
        _SET_SHAPE(made, made_shape)
        _SET_VALUES(made, tuple(values))
        return made

    def to_dict(self) -> dict[str, Scalar]:
        """A new plain dict of the same items, in the same order."""
        return dict(zip(self._shape.keys, self._all(), strict=True))

    def __repr__(self) -> str:
        return f"Attrs({self.to_dict()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Its own keys (one tuple per layout, which pickle writes once), its base (shared, also
        # written once) and its values: restored without checking each value again.
        return (_restored, (self._shape.own, self._base, self._values))


_new = object.__new__
_SET_BASE: Callable[[Attrs, Attrs | None], None] = vars(Attrs)["_base"].__set__
_SET_SHAPE: Callable[[Attrs, _Shape], None] = vars(Attrs)["_shape"].__set__
_SET_VALUES: Callable[[Attrs, tuple[Scalar, ...]], None] = vars(Attrs)["_values"].__set__
"""Slot setters of ``Attrs``: they bypass its read-only ``__setattr__``."""


def _restored(keys: tuple[str, ...], base: Attrs | None, values: tuple[Scalar, ...]) -> Attrs:
    """An :class:`Attrs` unpickled (:meth:`Attrs.__reduce__`): its layout found again."""
    shape = _shape(keys, base._shape if base is not None else None)
    if shape is None or len(values) != len(keys):  # not how an Attrs pickles: checked whole
        return Attrs(dict(zip(keys, values, strict=True)), base)
    made = _new(Attrs)
    _SET_BASE(made, base)
    _SET_SHAPE(made, shape)
    _SET_VALUES(made, values)
    return made
