"""Plugin definitions: a plugin's type, metadata and callbacks.

A definition is built in one of two styles. Decorators on a
:class:`PluginDefinition` (the function's name says which callback it is):

>>> flip = PluginDefinition("operator", "flip", "qlab", "1.0")
>>> @flip.callback
... def modify_measurement(state, measurement):
...     return measurement.replace(value=1 - measurement.value)
>>> flip
PluginDefinition('operator', 'flip', 'qlab', '1.0')
>>> sorted(flip.overridden)
['modify_measurement']

or a subclass of :class:`Frontend`, :class:`Operator` or :class:`Backend`
whose methods are the callbacks (each takes ``self, state, ...``):

>>> class Null(Backend, name="null", author="qlab", version="1.0"):
...     def gate(self, state, gate):
...         return None
>>> Null().type
<PluginType.BACKEND: 'backend'>

Which callbacks a type may have, which it must have and what the defaults
do follow DQCsim's matrix (see :data:`CALLBACKS`). A definition that lacks a
required callback is refused by :meth:`PluginDefinition.validate`, which a
subclass runs when it is instantiated and a :class:`~qlab.chain.Simulation`
runs before starting anything.
"""

from __future__ import annotations

import enum
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..exceptions import ChainDefinitionError, QlabTypeError

__all__ = ["PluginType", "PluginDefinition", "Frontend", "Operator", "Backend", "PluginSpec", "CALLBACKS"]


class PluginType(str, enum.Enum):
    """Where a plugin sits in the chain."""

    FRONTEND = "frontend"
    OPERATOR = "operator"
    BACKEND = "backend"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object):
        raise ChainDefinitionError(f"Unknown plugin type {value!r} (allowed: frontend, operator, backend).")


REQUIRED, OPTIONAL, NOT_APPLICABLE = "x", "o", "-"

CALLBACKS: dict[str, dict[PluginType, str]] = {
    # callback:            frontend       operator       backend
    "initialize":          dict(zip(PluginType, "ooo")),
    "drop":                dict(zip(PluginType, "ooo")),
    "run":                 dict(zip(PluginType, "x--")),
    "allocate":            dict(zip(PluginType, "-oo")),
    "free":                dict(zip(PluginType, "-oo")),
    "gate":                dict(zip(PluginType, "-ox")),
    "modify_measurement":  dict(zip(PluginType, "-o-")),
    "advance":             dict(zip(PluginType, "-oo")),
    "upstream_arb":        dict(zip(PluginType, "-oo")),
    "host_arb":            dict(zip(PluginType, "ooo")),
}  # fmt: skip
"""DQCsim's callback matrix: ``x`` required, ``o`` optional, ``-`` not applicable."""

SIGNATURES = {
    "initialize": "(state, init_cmds)",
    "drop": "(state)",
    "run": "(state, args) -> ArbData",
    "allocate": "(state, qubits, cmds)",
    "free": "(state, qubits)",
    "gate": "(state, gate) -> measurements",
    "modify_measurement": "(state, measurement) -> measurements",
    "advance": "(state, cycles)",
    "upstream_arb": "(state, cmd) -> ArbData",
    "host_arb": "(state, cmd) -> ArbData",
}


@dataclass(frozen=True)
class PluginSpec:
    """How to build a definition again in another process: ``module:attribute`` plus JSON keyword arguments.

    >>> PluginSpec("qlab.chain.plugins:null_backend").build().name
    'null'
    """

    target: str
    """``"package.module:callable"``: a function or class returning a :class:`PluginDefinition`."""
    kwargs: Mapping = field(default_factory=dict)
    """JSON-able keyword arguments for ``target``."""

    def build(self) -> PluginDefinition:
        """Import ``target`` and call it with ``kwargs``."""
        module, _, attr = self.target.partition(":")
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as err:
            raise ChainDefinitionError(f"Cannot import plugin {self.target!r}: {err}.") from err
        definition = obj(**dict(self.kwargs))
        if not isinstance(definition, PluginDefinition):
            raise ChainDefinitionError(f"{self.target!r} returned {type(definition).__name__}, not a PluginDefinition.")
        return definition

    def to_dict(self) -> dict:
        return {"target": self.target, "kwargs": dict(self.kwargs)}


def _check_string(value, what: str) -> str:
    if not isinstance(value, str):
        raise QlabTypeError(f"PluginDefinition {what} must be a str, got {type(value).__name__} {value!r}.")
    if not value.strip():
        raise ChainDefinitionError(f"PluginDefinition {what} must not be empty.")
    return value


class PluginDefinition:
    """A plugin: its type, name, author and version (all immutable) and its callbacks.

    Args:
        type: ``"frontend"``, ``"operator"`` or ``"backend"``.
        name: the plugin's name (also its logger's name in a simulation).
        author: who wrote it.
        version: its version string.
        spec: how to rebuild it in a plugin process (built-in plugins set it).
        **callbacks: callbacks by name, as an alternative to :meth:`callback`.
    """

    def __init__(self, type: PluginType | str, name: str, author: str, version: str, *, spec: PluginSpec | None = None, **callbacks: Callable):
        self._type = PluginType(type)
        self._name = _check_string(name, "name")
        self._author = _check_string(author, "author")
        self._version = _check_string(version, "version")
        self.spec = spec
        self._callbacks: dict[str, Callable] = {}
        for cb_name in CALLBACKS:
            method = getattr(type_ := self.__class__, cb_name, None)
            if method is not None and type_ is not PluginDefinition:
                self._set(cb_name, getattr(self, cb_name))
        for cb_name, fn in callbacks.items():
            self._set(cb_name, fn)

    # ------------------------------------------------------------ metadata
    type = property(lambda self: self._type, doc="The plugin type.")
    name = property(lambda self: self._name, doc="The plugin name.")
    author = property(lambda self: self._author, doc="The plugin author.")
    version = property(lambda self: self._version, doc="The plugin version.")

    def __repr__(self) -> str:
        return f"PluginDefinition({self._type.value!r}, {self._name!r}, {self._author!r}, {self._version!r})"

    # ----------------------------------------------------------- callbacks
    def _set(self, cb_name: str, fn: Callable) -> None:
        if cb_name not in CALLBACKS:
            raise ChainDefinitionError(f"Unknown callback {cb_name!r} (allowed: {', '.join(CALLBACKS)}).")
        if CALLBACKS[cb_name][self._type] == NOT_APPLICABLE:
            allowed = [n for n, row in CALLBACKS.items() if row[self._type] != NOT_APPLICABLE]
            raise ChainDefinitionError(
                f"A {self._type.value} has no {cb_name!r} callback (a {self._type.value} may have: {', '.join(allowed)})."
            )
        if not callable(fn):
            raise QlabTypeError(f"Callback {cb_name!r} must be callable, got {type(fn).__name__}.")
        self._callbacks[cb_name] = fn

    def callback(self, fn_or_name: Callable | str):
        """Decorator setting a callback; the function's name (or the given name) says which.

        >>> d = PluginDefinition("frontend", "hello", "qlab", "1.0")
        >>> @d.callback("run")
        ... def say_hello(state, args):
        ...     return {"greeting": "hello"}
        >>> d.validate() is d
        True
        """
        if isinstance(fn_or_name, str):
            def decorate(fn: Callable) -> Callable:
                self._set(fn_or_name, fn)
                return fn
            return decorate
        self._set(fn_or_name.__name__, fn_or_name)
        return fn_or_name

    @property
    def overridden(self) -> frozenset[str]:
        """The callbacks this definition sets (the rest keep their defaults)."""
        return frozenset(self._callbacks)

    def get_callback(self, cb_name: str) -> Callable | None:
        """The callback set for ``cb_name``, or ``None`` when the default applies."""
        return self._callbacks.get(cb_name)

    def validate(self) -> PluginDefinition:
        """Refuse a definition without its type's required callbacks; return it.

        >>> PluginDefinition("backend", "empty", "qlab", "1.0").validate()
        Traceback (most recent call last):
        ...
        qlab.exceptions.ChainDefinitionError: Plugin 'empty' (backend) must define the 'gate' callback gate(state, gate) -> measurements; backends have no default for it.
        """
        for cb_name, row in CALLBACKS.items():
            if row[self._type] == REQUIRED and cb_name not in self._callbacks:
                raise ChainDefinitionError(
                    f"Plugin {self._name!r} ({self._type.value}) must define the {cb_name!r} callback "
                    f"{cb_name}{SIGNATURES[cb_name]}; {self._type.value}s have no default for it."
                )
        return self


class _Typed(PluginDefinition):
    """Base of the subclass style: metadata from class keywords, callbacks from methods."""

    _plugin_type: PluginType
    _meta: tuple[str, str, str] | None = None

    def __init_subclass__(cls, name: str | None = None, author: str | None = None, version: str | None = None, **kw):
        super().__init_subclass__(**kw)
        if name is not None or author is not None or version is not None:
            cls._meta = (name, author, version)

    def __init__(self, name: str | None = None, author: str | None = None, version: str | None = None, *, spec: PluginSpec | None = None):
        meta = self._meta or (None, None, None)
        name, author, version = (given if given is not None else default for given, default in zip((name, author, version), meta))
        if None in (name, author, version):
            raise ChainDefinitionError(
                f"{type(self).__name__} needs a name, author and version: "
                f"class {type(self).__name__}({self._plugin_type.value.title()}, name=..., author=..., version=...)."
            )
        if spec is None and type(self).__module__ != "__main__" and "<locals>" not in type(self).__qualname__:
            if not inspect.signature(type(self).__init__).parameters.keys() - {"self", "name", "author", "version", "spec"}:
                spec = PluginSpec(f"{type(self).__module__}:{type(self).__qualname__}")
        super().__init__(self._plugin_type, name, author, version, spec=spec)
        self.validate()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Frontend(_Typed):
    """Subclass me: a frontend (``run`` is required)."""

    _plugin_type = PluginType.FRONTEND


class Operator(_Typed):
    """Subclass me: an operator (every callback has a pass-through default)."""

    _plugin_type = PluginType.OPERATOR


class Backend(_Typed):
    """Subclass me: a backend (``gate`` is required)."""

    _plugin_type = PluginType.BACKEND
