"""DQCsim's log levels and how they map onto Python's :mod:`logging`.

>>> LogLevel("warn").python_level == logging.WARNING
True
>>> LogLevel.from_value(logging.DEBUG)
<LogLevel.DEBUG: 'debug'>
"""

from __future__ import annotations

import enum
import logging

from ..exceptions import ChainDefinitionError

__all__ = ["LogLevel", "TRACE", "NOTE"]

TRACE = 5
NOTE = 25
logging.addLevelName(TRACE, "TRACE")
logging.addLevelName(NOTE, "NOTE")


class LogLevel(str, enum.Enum):
    """fatal, error, warn, note, info, debug, trace (and off, to silence a plugin)."""

    OFF = "off"
    FATAL = "fatal"
    ERROR = "error"
    WARN = "warn"
    NOTE = "note"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"

    @property
    def python_level(self) -> int:
        """The :mod:`logging` level (``off`` is above every level)."""
        return _PYTHON[self]

    @classmethod
    def _missing_(cls, value: object):
        if isinstance(value, str) and value.lower() in cls._value2member_map_:
            return cls._value2member_map_[value.lower()]
        allowed = ", ".join(m.value for m in cls)
        raise ChainDefinitionError(f"Unknown log level {value!r} (allowed: {allowed}, or a logging level number).")

    @classmethod
    def from_value(cls, value: LogLevel | str | int) -> LogLevel:
        """A level from its name or a :mod:`logging` number (rounded down to the nearest DQCsim level)."""
        if isinstance(value, int) and not isinstance(value, bool):
            candidates = [lvl for lvl in cls if lvl is not cls.OFF and lvl.python_level <= value]
            return max(candidates, key=lambda lvl: lvl.python_level, default=cls.TRACE)
        return cls(value)


_PYTHON = {
    LogLevel.OFF: logging.CRITICAL + 10,
    LogLevel.FATAL: logging.CRITICAL,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.NOTE: NOTE,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: TRACE,
}
