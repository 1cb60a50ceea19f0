"""Settings from a configuration file: one parser turns a TOML table into a typed dataclass.

A field's annotation says what the file may hold under its name:

- ``bool``, ``int``, ``str``; ``float`` (a whole number is accepted); ``Path`` (from a string);
- ``X | None``: an ``X``, or an empty string for "not set";
- a dataclass: a table, parsed the same way (its fields keep their defaults unless given);
- ``dict[K, V]``: a table of ``V``; when the field's default is not empty, its keys are the only
  ones allowed and the table is merged over it; an enum ``K`` turns the keys into members;
- ``list[X]``: an array of ``X``; ``Any``: anything;
- ``Annotated[T, check]``: a ``T`` that ``check(value)`` accepts; it returns the value to keep
  or raises ValueError (the whole value is wrong) or SettingsError (a part of it is, its key
  relative to the value's).

A field is read from another place in the file with ``field(metadata={"key": "station.id"})``;
``RETIRED_KEYS`` (a class attribute) maps keys that no longer exist to the sentence saying what
to use instead. Unknown keys, missing required keys, wrong types and failed checks raise a
SettingsError naming the full key.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
Key = tuple[str | int, ...]


class SettingsError(ValueError):
    """A configuration value that cannot be used: its file, its full key and the problem."""

    def __init__(self, key: Key, problem: str, source: Path | str | None = None) -> None:
        super().__init__(key, problem, source)
        self.key = key
        self.problem = problem
        self.source = source

    def within(self, prefix: Key) -> SettingsError:
        """The same problem, its key below ``prefix``."""
        return SettingsError((*prefix, *self.key), self.problem, self.source)

    def in_file(self, source: Path | str) -> SettingsError:
        return SettingsError(self.key, self.problem, source)

    def __str__(self) -> str:
        where = describe_key(self.key)
        text = f"{where}: {self.problem}" if where else self.problem
        return f"{self.source}: {text}" if self.source is not None else text


def describe_key(key: Key) -> str:
    """A key as a TOML reader finds it: ``[uploader] max_backoff_s``, ``[[devices]] #2 id``."""
    if not key:
        return ""
    indexes = [position for position, part in enumerate(key) if isinstance(part, int)]
    if indexes:
        at = indexes[-1]
        array = ".".join(str(part) for part in key[:at])
        rest = ".".join(str(part) for part in key[at + 1 :])
        return f"[[{array}]] #{int(key[at]) + 1}" + (f" {rest}" if rest else "")
    *tables, leaf = key
    return f"[{'.'.join(map(str, tables))}] {leaf}" if tables else str(leaf)


class Settings:
    """``from_mapping`` for a settings dataclass."""

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> Self:
        """Defaults overridden by ``mapping``; raises SettingsError on anything it cannot use."""
        return parse_settings(cls, {} if mapping is None else mapping)


def parse_settings(cls: type[T], table: object, key: Key = ()) -> T:
    """An instance of the dataclass ``cls`` from ``table`` (see the module's docstring)."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = get_type_hints(cls, include_extras=True)
    retired: Mapping[str, str] = getattr(cls, "RETIRED_KEYS", {})
    values: dict[str, Any] = {}

    def gather(layout: _Layout, table: object, where: Key) -> None:
        if not isinstance(table, Mapping):
            raise SettingsError(where, f"expected a table, got {_shown(table)}")
        for name, value in table.items():
            here = (*where, name)
            target = layout.get(name)
            if target is None:
                problem = retired.get(name) if layout is root else None
                raise SettingsError(here, problem or _unknown(name, layout))
            if isinstance(target, dict):
                gather(target, value, here)
            else:
                values[target] = _value(hints[target], value, _default(fields[target]), here)

    root = _layout(fields.values())
    gather(root, table, key)
    for name, f in fields.items():
        if name not in values and _default(f) is _NO_DEFAULT:
            file_key = tuple(str(f.metadata.get("key", name)).split("."))
            raise SettingsError((*key, *file_key), "missing; this key is required")
    return cls(**values)


_NO_DEFAULT = dataclasses.MISSING
_Layout = dict[str, "str | _Layout"]  # file key -> field name, or the keys of a sub-table


def _layout(fields: Iterable[dataclasses.Field]) -> _Layout:
    tree: _Layout = {}
    for f in fields:
        *tables, leaf = str(f.metadata.get("key", f.name)).split(".")
        node = tree
        for table in tables:
            node = node.setdefault(table, {})  # type: ignore[assignment]
        node[leaf] = f.name
    return tree


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _NO_DEFAULT


def _value(hint: Any, value: object, default: Any, key: Key) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        return _checked(hint.__metadata__, _value(args[0], value, default, key), key)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in args if arg is not type(None)]
        return None if value == "" else _value(inner, value, default, key)
    if dataclasses.is_dataclass(hint):
        return parse_settings(hint, value, key)  # type: ignore[arg-type]
    if origin is dict:
        return _table(args, value, default, key)
    if origin is list:
        if not isinstance(value, list):
            raise SettingsError(key, f"expected an array, got {_shown(value)}")
        return [_value(args[0], item, _NO_DEFAULT, (*key, i)) for i, item in enumerate(value)]
    return _scalar(hint, value, key)


def _checked(checks: Iterable[Callable[[Any], Any]], value: Any, key: Key) -> Any:
    for check in checks:
        try:
            value = check(value)
        except SettingsError as error:
            raise error.within(key) from None
        except ValueError as error:
            raise SettingsError(key, str(error)) from None
    return value


def _table(args: tuple, value: object, default: Any, key: Key) -> dict:
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"expected a table, got {_shown(value)}")
    key_type, value_type = args
    closed = isinstance(default, dict) and bool(default)
    merged = dict(default) if isinstance(default, dict) else {}
    for name, item in value.items():
        here = (*key, name)
        if closed and name not in default:
            raise SettingsError(here, _unknown(name, default))
        if isinstance(key_type, type) and issubclass(key_type, enum.Enum):
            name = key_type(name)
        merged[name] = _value(value_type, item, _NO_DEFAULT, here)
    return merged


def _scalar(hint: Any, value: object, key: Key) -> Any:
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (str, Path) and isinstance(value, str):
        return hint(value)
    if hint not in _EXPECTED:
        raise TypeError(f"settings of type {hint!r} are not supported")
    raise SettingsError(key, f"expected {_EXPECTED[hint]}, got {_shown(value)}")


_EXPECTED = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    Path: "a path (a string)",
}


def _unknown(name: object, known: Iterable[object]) -> str:
    choices = sorted(str(k) for k in known)
    close = difflib.get_close_matches(str(name), choices, n=1)
    if close:
        return f"unknown key; did you mean {close[0]}?"
    if not choices:
        return "unknown key; this table takes no keys"
    return f"unknown key; known keys here: {', '.join(choices)}"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
