"""Errors that name their line: pyqasm and openqasm3 failures as QasmError, and
UnsupportedQasmError for constructs qlab cannot represent."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
from collections.abc import Iterator

import openqasm3
import openqasm3.ast as ast
from openqasm3.parser import QASM3ParsingError

from ...exceptions import QasmError, UnsupportedQasmError


class _LogCapture(logging.Filter):
    """Keeps pyqasm's error log (it holds the line numbers) instead of printing it."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.messages.append(record.getMessage())
        return False


@contextlib.contextmanager
def pyqasm_errors() -> Iterator[None]:
    """Turn any pyqasm failure into a QasmError; keep its logging and traceback setting local."""
    capture, stderr = _LogCapture(), io.StringIO()
    logger = logging.getLogger("pyqasm")
    had_limit, limit = hasattr(sys, "tracebacklimit"), getattr(sys, "tracebacklimit", None)
    logger.addFilter(capture)
    try:
        with contextlib.redirect_stderr(stderr):
            yield
    except Exception as err:  # pyqasm raises many exception types for bad input
        raise _qasm_error(err, capture.messages, stderr.getvalue()) from err
    finally:
        logger.removeFilter(capture)
        if had_limit:
            sys.tracebacklimit = limit
        elif hasattr(sys, "tracebacklimit"):
            del sys.tracebacklimit


def _qasm_error(err: Exception, log: list[str], stderr: str) -> QasmError:
    """A QasmError from a pyqasm/openqasm3 exception, with the line when it is known."""
    syntax = _syntax_error(err, stderr)
    if syntax is not None:
        line, column, detail = syntax
        return QasmError(f"Cannot read OpenQASM: syntax error at line {line}, column {column}: {detail}.", line=line)
    line = next((int(m.group(1)) for m in map(re.compile(r"Error at line (\d+)").search, log) if m), None)
    statement = next((m.group(1).strip() for m in map(re.compile(r">>>>>> (.*)").search, log) if m), None)
    where = f" at line {line}" if line else ""
    what = f" ({statement!r})" if statement else ""
    detail = str(err) or type(err).__name__
    return QasmError(f"Cannot read OpenQASM{where}{what}: {detail}", line=line)


def _syntax_error(err: BaseException, stderr: str) -> tuple[int, int, str] | None:
    """(line, column, message) of a parse error in ``err``'s chain, else None."""
    chain: list[BaseException] = []
    while err is not None and err not in chain:
        chain.append(err)
        err = err.__cause__ or err.__context__
    if not any(isinstance(e, QASM3ParsingError) for e in chain):
        return None
    m = re.search(r"line (\d+):(\d+) (.*)", stderr) or next(
        filter(None, (re.search(r"L(\d+):C(\d+): (.*)", str(e)) for e in chain)), None
    )
    if m:
        return int(m.group(1)), int(m.group(2)), m.group(3).strip()
    for e in chain:
        token = getattr(e.args[0], "offendingToken", None) if e.args else None
        if token is not None:
            return token.line, token.column, f"unexpected {token.text!r}"
    return 1, 0, "the parser gave no position"


def node_line(node: ast.QASMNode) -> int | None:
    span = getattr(node, "span", None)
    return span.start_line if span is not None else None


def node_text(node: ast.QASMNode) -> str:
    return " ".join(openqasm3.dumps(node).split()).rstrip(";")


def unsupported(construct: str, line: int | None, why: str) -> UnsupportedQasmError:
    where = f" at line {line}" if line else ""
    return UnsupportedQasmError(f"Unsupported OpenQASM construct {construct!r}{where}: {why}.", line=line)
