"""What every emulator plugin shares: its API version, frozen parameters, and the registry.

The API version is four 8-bit fields packed into one 64-bit integer:
``reserved`` (must be 0), ``major``, ``minor`` and ``patch``, most significant
first. A plugin whose major or minor version differs from the emulator's, or
whose reserved field is not 0, is refused with both versions in the message.

>>> pack_version(0, 1, 2, 3) == 0x00010203
True
>>> unpack_version(0x00010203)
(0, 1, 2, 3)

A plugin's parameters are a frozen dataclass (``plugin.params``), checked when
it is built; keyword arguments build it:

>>> from qlab.emulator import SimpleRuntime
>>> SimpleRuntime(duration_ns_rxy=20)
SimpleRuntime(duration_ns_rxy=20)
>>> SimpleRuntime(duration_ns_rxy=20).get_init_args()
['--duration-ns-rxy=20', '--duration-ns-rzz=0', '--duration-ns-measure=0', '--duration-ns-reset=0', '--duration-ns-measure-leaked=0']

Plugins from other packages register through the entry point groups
``qlab.emulator.runtimes``, ``qlab.emulator.error_models`` and
``qlab.emulator.simulators`` (name = the plugin's class name, value =
``module:Class``); :func:`plugin_class` finds built-in and registered ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, ClassVar

from ..exceptions import PluginError, QlabTypeError

__all__ = [
    "API_VERSION",
    "Plugin",
    "pack_version",
    "unpack_version",
    "check_api_version",
    "plugin_class",
    "register_plugin",
    "ENTRY_POINT_GROUPS",
]

ENTRY_POINT_GROUPS = {
    "runtime": "qlab.emulator.runtimes",
    "error_model": "qlab.emulator.error_models",
    "simulator": "qlab.emulator.simulators",
}
"""The entry point group for each plugin kind."""


def pack_version(reserved: int, major: int, minor: int, patch: int) -> int:
    """Pack four 8-bit fields into the 64-bit API version."""
    fields = (reserved, major, minor, patch)
    for name, value in zip(("reserved", "major", "minor", "patch"), fields):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise PluginError(f"pack_version: {name} must be an int in 0..255, got {value!r}.")
    return (reserved << 24) | (major << 16) | (minor << 8) | patch


def unpack_version(version: int) -> tuple[int, int, int, int]:
    """The (reserved, major, minor, patch) fields of a packed API version."""
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**64:
        raise PluginError(f"unpack_version: an API version is an unsigned 64-bit int, got {version!r}.")
    if version >> 32:
        return (version >> 24) & 0xFFFFFFFFFF, (version >> 16) & 0xFF, (version >> 8) & 0xFF, version & 0xFF
    return (version >> 24) & 0xFF, (version >> 16) & 0xFF, (version >> 8) & 0xFF, version & 0xFF


API_VERSION = pack_version(0, 0, 1, 0)
"""The plugin API version of this emulator (0.0.1.0: reserved 0, major 0, minor 1, patch 0)."""


def _show(version: int) -> str:
    reserved, major, minor, patch = unpack_version(version)
    return f"{major}.{minor}.{patch} (reserved {reserved})"


def check_api_version(plugin: Any) -> None:
    """Refuse ``plugin`` unless its API major and minor match the emulator's and its reserved field is 0."""
    version = getattr(plugin, "api_version", None)
    name = plugin.__name__ if isinstance(plugin, type) else type(plugin).__name__
    if version is None:
        raise PluginError(f"{name} has no api_version; a plugin declares the API version it was written for.")
    reserved, major, minor, _ = unpack_version(version)
    _, our_major, our_minor, _ = unpack_version(API_VERSION)
    if reserved != 0 or (major, minor) != (our_major, our_minor):
        raise PluginError(
            f"{name} was written for plugin API {_show(version)}, but this emulator speaks {_show(API_VERSION)}; "
            "the major and minor versions must match and the reserved field must be 0."
        )


@dataclasses.dataclass(frozen=True)
class NoParams:
    """A plugin without parameters."""


class Plugin:
    """Base of runtimes, error models and simulators.

    A subclass names its parameter class in ``Params`` (a frozen dataclass
    whose ``__post_init__`` validates every field); ``Plugin(params)`` or
    ``Plugin(**fields)`` builds it.
    """

    kind: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    api_version: ClassVar[int] = API_VERSION

    def __init__(self, params: Any = None, /, **fields: Any):
        if params is None:
            try:
                params = self.Params(**fields)
            except TypeError as err:
                allowed = ", ".join(f.name for f in dataclasses.fields(self.Params)) or "none"
                raise PluginError(f"{type(self).__name__}: {err}; its parameters are: {allowed}.") from None
        elif fields:
            raise QlabTypeError(f"{type(self).__name__}: give either a {self.Params.__name__} or keyword fields, not both.")
        elif not isinstance(params, self.Params):
            raise QlabTypeError(f"{type(self).__name__}: params must be a {self.Params.__name__}, got {type(params).__name__}.")
        self.params = params

    # -------------------------------------------------------- arguments
    def get_init_args(self) -> list[str]:
        """The parameters as ``--name=value`` arguments (what ``init``'s ``args`` accepts)."""
        return [f"--{f.name.replace('_', '-')}={getattr(self.params, f.name)!r}"
                for f in dataclasses.fields(self.params)]

    def _params_with_args(self, args: Sequence[str]) -> Any:
        """The parameters with ``--name=value`` overrides applied (and validated)."""
        changes: dict[str, Any] = {}
        names = {f.name: f for f in dataclasses.fields(self.params)}
        for arg in args:
            key, sep, text = str(arg).removeprefix("--").partition("=")
            name = key.replace("-", "_")
            if not sep or name not in names:
                raise PluginError(
                    f"{type(self).__name__}.init: cannot read argument {arg!r}; "
                    f"expected --name=value with a name among {', '.join(names) or 'none'}."
                )
            changes[name] = _parse_value(text, type(getattr(self.params, name)))
        return dataclasses.replace(self.params, **changes) if changes else self.params

    # ---------------------------------------------------------- display
    def describe(self) -> dict[str, Any]:
        """The parameters as a plain dict."""
        return {f.name: getattr(self.params, f.name) for f in dataclasses.fields(self.params)}

    def __repr__(self) -> str:
        changed = [
            f"{f.name}={getattr(self.params, f.name)!r}"
            for f in dataclasses.fields(self.params)
            if f.default is dataclasses.MISSING or getattr(self.params, f.name) != f.default
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(repr(v))}</td></tr>"
            for k, v in self.describe().items()
        )
        return f"<table><caption>{html.escape(type(self).__name__)} ({self.kind})</caption>{rows}</table>"


def _parse_value(text: str, kind: type) -> Any:
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


# ------------------------------------------------------------------ checks
def check_probability(owner: str, name: str, value: Any) -> float:
    """``value`` as a probability in [0, 1]; otherwise a :class:`PluginError` naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise PluginError(f"{owner}: {name} must be a probability between 0 and 1 (both included), got {value!r}.")
    return float(value)


def check_count(owner: str, name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; otherwise a :class:`PluginError` naming ``owner.name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PluginError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}.")
    return value


def check_finite(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PluginError(f"{owner}: {name} must be a finite number, got {value!r}.")
    return float(value)


# ---------------------------------------------------------------- registry
_REGISTERED: dict[str, dict[str, type]] = {kind: {} for kind in ENTRY_POINT_GROUPS}


def register_plugin(cls: type) -> type:
    """Register a plugin class under its class name (usable as a decorator)."""
    kind = getattr(cls, "kind", "")
    if kind not in _REGISTERED:
        raise PluginError(f"register_plugin: {cls.__name__} has kind {kind!r}; allowed: {', '.join(_REGISTERED)}.")
    _REGISTERED[kind][cls.__name__] = cls
    return cls


@lru_cache(maxsize=None)
def _entry_points(group: str) -> Mapping[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def plugin_class(kind: str, name: str) -> type:
    """The plugin class called ``name`` of ``kind`` (built in, registered, or from an entry point)."""
    if kind not in _REGISTERED:
        raise PluginError(f"plugin_class: unknown plugin kind {kind!r}; allowed: {', '.join(_REGISTERED)}.")
    from . import error_models, runtimes, simulators, stabilizer  # noqa: F401  (built-ins register on import)

    if name in _REGISTERED[kind]:
        return _REGISTERED[kind][name]
    found = _entry_points(ENTRY_POINT_GROUPS[kind])
    if name in found:
        cls = found[name].load()
        check_api_version(cls)
        return cls
    known = sorted(_REGISTERED[kind]) + sorted(found)
    raise PluginError(f"No {kind.replace('_', ' ')} plugin named {name!r}; known: {', '.join(known)}.")
