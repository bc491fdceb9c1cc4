"""The one program IR of qlab: :class:`Circuit`.

A circuit holds named quantum and classical registers and an ordered list of
:class:`~qlab.circuit.instruction.Instruction`. Gate methods are fluent:

>>> bell = Circuit(2).h(0).cx(0, 1).measure_all()
>>> bell
Circuit(2, 2).h(0).cx(0, 1).barrier(0, 1).measure(0, 0).measure(1, 1)
>>> bell.count_ops()
{'h': 1, 'cx': 1, 'barrier': 1, 'measure': 2}
>>> bell.depth()
3

Qubit and classical-bit arguments are global indices (``int``); registers
map onto them in the order they were added (``circuit.qreg("a")[1]``).
Gate methods take several qubits at once (a range, list or register) and
put one gate on each; two-qubit gates pair their lists position by position:

>>> Circuit(4).h(range(2)).cx([0, 1], [2, 3])
Circuit(4).h(0).h(1).cx(0, 2).cx(1, 3)
>>> Circuit(2, 2).measure(range(2), range(2))
Circuit(2, 2).measure(0, 0).measure(1, 1)

A misspelt gate gets a suggestion: ``Circuit(1).hh(0)`` raises
``AttributeError: 'Circuit' object has no attribute 'hh'; did you mean 'h'?``.
Behaviour other than building and inspecting lives in functions
(``qlab.simulate``, ``qlab.circuit.qasm``).
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..exceptions import CircuitError, QlabTypeError
from .gates import ALIASES, GATES, GateDef, canonical_name, inverse_params, is_unitary
from .instruction import TIME_UNITS, Condition, Instruction, Register

__all__ = ["Circuit"]


def _as_index(value, what: str, action: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise QlabTypeError(f"Cannot {action}: {what} must be an int index, got {value!r} ({type(value).__name__}).")
    return int(value)


class Circuit:
    """A quantum circuit: registers plus an ordered list of instructions.

    Args:
        num_qubits: size of the default quantum register ``q`` (0 for none).
        num_clbits: size of the default classical register ``c`` (0 for none).
        qregs: further quantum registers, name to size, added after ``q``.
        cregs: further classical registers, name to size, added after ``c``.
        name: an optional display name.

    >>> Circuit(1).rx(0.5, 0).instructions
    (Instruction('rx', (0,), params=(0.5,)),)
    >>> Circuit(qregs={"a": 1, "b": 1}, cregs={"m": 2}).cx(0, 1)
    Circuit(qregs={'a': 1, 'b': 1}, cregs={'m': 2}).cx(0, 1)
    """

    def __init__(
        self,
        num_qubits: int = 0,
        num_clbits: int = 0,
        *,
        qregs: Mapping[str, int] | None = None,
        cregs: Mapping[str, int] | None = None,
        name: str | None = None,
    ):
        self.name = name
        self._qregs: list[Register] = []
        self._cregs: list[Register] = []
        self._instructions: list[Instruction] = []
        if num_qubits:
            self.add_qreg("q", num_qubits)
        if num_clbits:
            self.add_creg("c", num_clbits)
        for reg_name, size in (qregs or {}).items():
            self.add_qreg(reg_name, size)
        for reg_name, size in (cregs or {}).items():
            self.add_creg(reg_name, size)

    # ----------------------------------------------------------- registers
    def add_qreg(self, name: str, size: int) -> Register:
        """Add a quantum register and return it."""
        return self._add_reg(self._qregs, "quantum", name, size)

    def add_creg(self, name: str, size: int) -> Register:
        """Add a classical register and return it."""
        return self._add_reg(self._cregs, "classical", name, size)

    def _add_reg(self, regs: list[Register], kind: str, name: str, size: int) -> Register:
        size = _as_index(size, "the register size", f"add {kind} register {name!r}")
        if size <= 0:
            raise CircuitError(f"Cannot add {kind} register {name!r}: its size must be positive, got {size}.")
        if not isinstance(name, str) or not name.isidentifier():
            raise CircuitError(f"Cannot add {kind} register {name!r}: the name must be an identifier.")
        if any(r.name == name for r in self._qregs + self._cregs):
            raise CircuitError(f"Cannot add {kind} register {name!r}: a register of that name exists.")
        reg = Register(name, size, sum(r.size for r in regs))
        regs.append(reg)
        return reg

    @property
    def qregs(self) -> tuple[Register, ...]:
        """The quantum registers, in the order they were added."""
        return tuple(self._qregs)

    @property
    def cregs(self) -> tuple[Register, ...]:
        """The classical registers, in the order they were added."""
        return tuple(self._cregs)

    def qreg(self, name: str) -> Register:
        """The quantum register called ``name``."""
        return self._find(self._qregs, name, "quantum")

    def creg(self, name: str) -> Register:
        """The classical register called ``name``."""
        return self._find(self._cregs, name, "classical")

    @staticmethod
    def _find(regs: list[Register], name: str, kind: str) -> Register:
        for r in regs:
            if r.name == name:
                return r
        raise CircuitError(f"No {kind} register {name!r}; the circuit has {[r.name for r in regs]}.")

    @property
    def num_qubits(self) -> int:
        """Total number of qubits over all quantum registers."""
        return sum(r.size for r in self._qregs)

    @property
    def num_clbits(self) -> int:
        """Total number of classical bits over all classical registers."""
        return sum(r.size for r in self._cregs)

    # -------------------------------------------------------- instructions
    @property
    def instructions(self) -> tuple[Instruction, ...]:
        """The instructions, in program order."""
        return tuple(self._instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._instructions)

    def __len__(self) -> int:
        return len(self._instructions)

    def append(
        self,
        name: str,
        qubits: Sequence[int],
        params: Sequence[float] = (),
        *,
        clbits: Sequence[int] = (),
        condition: Condition | None = None,
        matrix: np.ndarray | None = None,
        label: str | None = None,
        unit: str | None = None,
    ) -> Circuit:
        """Validate and append one instruction; return ``self``.

        Raises:
            CircuitError: for an unknown gate, a wrong arity or parameter
                count, a qubit or bit out of range, or repeated qubits.
        """
        if isinstance(qubits, (int, np.integer)):
            qubits = (qubits,)
        action = f"add {name!r} on qubits {tuple(qubits)}"
        qubits = tuple(_as_index(q, "each qubit", action) for q in qubits)
        clbits = tuple(_as_index(c, "each classical bit", action) for c in clbits)
        if name not in ("measure", "reset", "barrier", "delay", "unitary"):
            name = canonical_name(name)
        params = self._check_params(name, params, action)
        self._check_qubits(qubits, action)
        for c in clbits:
            if not 0 <= c < self.num_clbits:
                raise CircuitError(
                    f"Cannot {action}: classical bit {c} is out of range for a circuit with "
                    f"{self.num_clbits} classical bits (allowed: 0..{self.num_clbits - 1})."
                )
        if name == "unitary":
            matrix = self._check_matrix(matrix, qubits, action)
        elif name in GATES and len(qubits) != GATES[name].num_qubits:
            raise CircuitError(f"Cannot {action}: {name!r} acts on {GATES[name].num_qubits} qubit(s), got {len(qubits)}.")
        elif name in ("measure", "reset", "delay") and len(qubits) != 1:
            raise CircuitError(
                f"Cannot {action}: {name!r} acts on exactly 1 qubit; use Circuit.{name}() for several."
            )
        elif name == "measure" and len(clbits) != 1:
            raise CircuitError(f"Cannot {action}: measure writes exactly one classical bit, got clbits {clbits}.")
        elif name == "delay":
            if unit not in TIME_UNITS:
                raise CircuitError(f"Cannot {action}: unknown time unit {unit!r}; allowed: {', '.join(TIME_UNITS)}.")
            if params[0] < 0:
                raise CircuitError(f"Cannot {action}: a delay must be non-negative, got {params[0]}.")
        if condition is not None:
            self._check_condition(condition, action)
        self._instructions.append(
            Instruction(name, qubits, params, clbits, condition, matrix, label, unit if name == "delay" else None)
        )
        return self

    def _check_params(self, name: str, params: Sequence[float], action: str) -> tuple[float, ...]:
        expected = {"delay": 1}.get(name, GATES[name].num_params if name in GATES else 0)
        params = tuple(params)
        if len(params) != expected:
            raise CircuitError(f"Cannot {action}: {name!r} takes {expected} parameter(s), got {len(params)}: {params}.")
        out = []
        for p in params:
            if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)):
                raise QlabTypeError(f"Cannot {action}: parameters must be real numbers, got {p!r} ({type(p).__name__}).")
            if not math.isfinite(p):
                raise CircuitError(f"Cannot {action}: parameters must be finite, got {p}.")
            out.append(float(p))
        return tuple(out)

    def _check_qubits(self, qubits: tuple[int, ...], action: str) -> None:
        n = self.num_qubits
        for q in qubits:
            if not 0 <= q < n:
                raise CircuitError(
                    f"Cannot {action}: qubit {q} is out of range for a circuit with {n} qubits (allowed: 0..{n - 1})."
                )
        if len(set(qubits)) != len(qubits):
            raise CircuitError(f"Cannot {action}: a qubit appears more than once.")

    @staticmethod
    def _check_matrix(matrix, qubits: tuple[int, ...], action: str) -> np.ndarray:
        if matrix is None:
            raise CircuitError(f"Cannot {action}: a 'unitary' instruction needs a matrix.")
        m = np.array(matrix, dtype=complex)
        d = 2 ** len(qubits)
        if m.shape != (d, d):
            raise CircuitError(f"Cannot {action}: the matrix must be {d}x{d} for {len(qubits)} qubit(s), got shape {m.shape}.")
        if not is_unitary(m):
            raise CircuitError(f"Cannot {action}: the matrix is not unitary (U^dagger U != I to 1e-10).")
        m.setflags(write=False)
        return m

    def _check_condition(self, condition: Condition, action: str) -> None:
        for b in condition.bits:
            if not 0 <= b < self.num_clbits:
                raise CircuitError(f"Cannot {action}: the condition reads classical bit {b}, which does not exist.")
        if not 0 <= condition.value < 2 ** len(condition.bits):
            raise CircuitError(
                f"Cannot {action}: condition value {condition.value} does not fit in {len(condition.bits)} bit(s)."
            )

    # ------------------------------------------------- non-gate builders
    def unitary(self, matrix, qubits: Sequence[int] | int, label: str | None = None) -> Circuit:
        """Append a user-defined gate given by its unitary matrix (checked unitary).

        >>> Circuit(1).unitary([[0, 1], [1, 0]], 0, label="myx").count_ops()
        {'myx': 1}
        """
        qubits = (qubits,) if isinstance(qubits, (int, np.integer)) else tuple(qubits)
        return self.append("unitary", qubits, matrix=matrix, label=label or "unitary")

    def measure(self, qubit: int | Sequence[int], clbit: int | Sequence[int]) -> Circuit:
        """Measure qubit(s) in the computational basis into classical bit(s)."""
        qs = (qubit,) if isinstance(qubit, (int, np.integer)) else tuple(qubit)
        cs = (clbit,) if isinstance(clbit, (int, np.integer)) else tuple(clbit)
        if len(qs) != len(cs):
            raise CircuitError(f"Cannot measure qubits {qs} into classical bits {cs}: the lengths differ.")
        for q, c in zip(qs, cs):
            self.append("measure", (q,), clbits=(c,))
        return self

    def measure_all(self) -> Circuit:
        """A barrier on all qubits, then measure qubit ``i`` into classical bit ``i`` of a new register.

        The register is ``c`` when the circuit has no classical bits yet,
        otherwise ``meas``. The barrier makes every measurement start after
        the last gate, as on hardware.
        """
        reg = self.add_creg("c" if not self._cregs else "meas", self.num_qubits)
        if self.num_qubits:
            self.barrier()
        return self.measure(range(self.num_qubits), list(reg))

    def reset(self, qubit: int | Sequence[int]) -> Circuit:
        """Reset qubit(s) to ``|0>``."""
        for q in (qubit,) if isinstance(qubit, (int, np.integer)) else qubit:
            self.append("reset", (q,))
        return self

    def barrier(self, *qubits: int | Iterable[int]) -> Circuit:
        """A scheduling barrier on the given qubits (all qubits when none given).

        >>> Circuit(4).barrier(range(2), 3)
        Circuit(4).barrier(0, 1, 3)
        """
        flat = [q for arg in qubits for q in (arg if isinstance(arg, Iterable) else (arg,))]
        return self.append("barrier", flat or tuple(range(self.num_qubits)))

    def delay(self, duration: float, qubits: int | Sequence[int] | None = None, unit: str = "s") -> Circuit:
        """Let qubits idle for ``duration`` (in ``unit``); idle noise applies there."""
        if qubits is None:
            qubits = range(self.num_qubits)
        elif isinstance(qubits, (int, np.integer)):
            qubits = (qubits,)
        for q in qubits:
            self.append("delay", (q,), (duration,), unit=unit)
        return self

    def c_if(self, target: str | int | Register, value: int) -> Circuit:
        """Condition the last instruction on a classical bit or register.

        ``target`` is a register (or its name) or a global classical bit index.

        >>> Circuit(2, 1).h(0).measure(0, 0).x(1).c_if(0, 1).instructions[-1].condition
        Condition(bits=(0,), value=1, register=None)
        """
        if not self._instructions:
            raise CircuitError("Cannot apply c_if: the circuit has no instruction to condition.")
        if isinstance(target, Register):
            target = target.name
        if isinstance(target, str):
            reg = self.creg(target)
            cond = Condition(tuple(reg), int(value), reg.name)
        else:
            cond = Condition((_as_index(target, "the condition bit", "apply c_if"),), int(value))
        last = self._instructions.pop()
        try:
            self.append(
                last.name, last.qubits, last.params, clbits=last.clbits, condition=cond,
                matrix=last.matrix, label=last.label, unit=last.unit,
            )
        except Exception:
            self._instructions.append(last)
            raise
        return self

    # ----------------------------------------------------------- analysis
    def count_ops(self) -> dict[str, int]:
        """How many instructions of each name (user gates by label), in first-seen order."""
        return dict(Counter(i.label if i.name == "unitary" else i.name for i in self._instructions))

    def depth(self) -> int:
        """The number of layers when each instruction waits for its qubits and bits.

        Barriers synchronise their qubits but add no layer.
        """
        level = [0] * self.num_qubits
        clevel = [0] * self.num_clbits
        for ins in self._instructions:
            bits = ins.clbits + (ins.condition.bits if ins.condition else ())
            start = max([level[q] for q in ins.qubits] + [clevel[c] for c in bits] + [0])
            end = start if ins.name == "barrier" else start + 1
            for q in ins.qubits:
                level[q] = end
            for c in bits:
                clevel[c] = end
        return max(level + clevel + [0])

    # -------------------------------------------------------- transforms
    def copy(self) -> Circuit:
        """A copy with the same registers and instructions."""
        new = Circuit(name=self.name)
        new._qregs, new._cregs = list(self._qregs), list(self._cregs)
        new._instructions = list(self._instructions)
        return new

    def inverse(self) -> Circuit:
        """The circuit that undoes this one (gates and barriers only).

        >>> Circuit(1).s(0).rx(0.3, 0).inverse()
        Circuit(1).rx(-0.3, 0).sdg(0)
        """
        new = self.copy()
        new._instructions = []
        for ins in reversed(self._instructions):
            if ins.condition is not None or ins.name in ("measure", "reset"):
                raise CircuitError(f"Cannot invert the circuit: {ins!r} is not reversible.")
            if ins.name == "unitary":
                m = ins.matrix.conj().T
                m.setflags(write=False)
                new._instructions.append(Instruction("unitary", ins.qubits, matrix=m, label=f"{ins.label}_dg"))
            elif ins.name in ("barrier", "delay"):
                new._instructions.append(ins)
            else:
                name, params = inverse_params(ins.name, ins.params)
                new._instructions.append(Instruction(name, ins.qubits, params))
        return new

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None, clbits: Sequence[int] | None = None) -> Circuit:
        """A new circuit: this one followed by ``other`` mapped onto ``qubits``/``clbits``.

        >>> Circuit(2).h(0).compose(Circuit(1).x(0), qubits=[1])
        Circuit(2).h(0).x(1)
        """
        qmap = list(range(other.num_qubits)) if qubits is None else list(qubits)
        cmap = list(range(other.num_clbits)) if clbits is None else list(clbits)
        if len(qmap) != other.num_qubits or len(cmap) != other.num_clbits:
            raise CircuitError(
                f"Cannot compose: the other circuit has {other.num_qubits} qubits and {other.num_clbits} "
                f"classical bits, mapped onto {len(qmap)} qubits and {len(cmap)} bits."
            )
        new = self.copy()
        for ins in other:
            cond = ins.condition
            if cond is not None:
                bits = tuple(cmap[b] for b in cond.bits)
                register = next((r.name for r in new._cregs if tuple(r) == bits), None) if cond.register else None
                cond = Condition(bits, cond.value, register)
            new.append(
                ins.name, [qmap[q] for q in ins.qubits], ins.params, clbits=[cmap[c] for c in ins.clbits],
                condition=cond, matrix=ins.matrix, label=ins.label, unit=ins.unit,
            )
        return new

    # ------------------------------------------------------- comparisons
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self._qregs, self._cregs, self._instructions) == (other._qregs, other._cregs, other._instructions)

    __hash__ = None  # mutable builder

    def __getattr__(self, name: str):
        """Only reached for a missing attribute: suggest the closest gate or method."""
        if name.startswith("__"):
            raise AttributeError(name)
        public = {n.lower(): n for n in dir(type(self)) if not n.startswith("_")}
        close = [public[m] for m in difflib.get_close_matches(name.lower(), public, n=3, cutoff=0.6)]
        hint = (
            "did you mean " + " or ".join(repr(c) for c in close) + "?"
            if close
            else "the gates are listed in qlab.circuit.GATES; use Circuit.unitary() for other gates."
        )
        raise AttributeError(f"'Circuit' object has no attribute {name!r}; {hint}")

    def _has_default_registers(self) -> bool:
        q_ok = [r.name for r in self._qregs] in ([], ["q"])
        c_ok = [r.name for r in self._cregs] in ([], ["c"])
        return q_ok and c_ok

    def __repr__(self) -> str:
        if self._has_default_registers():
            head = f"Circuit({self.num_qubits}" + (f", {self.num_clbits})" if self.num_clbits else ")")
        else:
            args = []
            if self._qregs:
                args.append("qregs={" + ", ".join(f"{r.name!r}: {r.size}" for r in self._qregs) + "}")
            if self._cregs:
                args.append("cregs={" + ", ".join(f"{r.name!r}: {r.size}" for r in self._cregs) + "}")
            head = f"Circuit({', '.join(args)})"
        calls = [_call_repr(i) for i in self._instructions[:40]]
        if len(self._instructions) > 40:
            calls.append(f"...<{len(self._instructions) - 40} more>")
        return head + "".join("." + c for c in calls)

    # --------------------------------------------------------- rendering
    def draw(self, output: str = "text", **options):
        """Draw the circuit: as text, as SVG, or with matplotlib.

        Angles that are multiples of π are written as such (``Rx(π/2)``).

        Args:
            output: ``"text"`` (a ``str``, one line per wire; option ``width``,
                the widest line before folding, default 100), ``"svg"`` (the
                SVG document as a ``str``, the figure a notebook shows) or
                ``"mpl"`` (the same figure on matplotlib axes; option ``ax``,
                the axes to draw on).
            **options: the options of the chosen output.

        Returns:
            The text, the SVG text, or the matplotlib axes.

        Raises:
            CircuitError: for another output or an option it does not take.

        >>> print(Circuit(2).h(0).cx(0, 1).rz(math.pi / 2, 1).draw())
        q[0]: ─H──■───────────
                  │
        q[1]: ────⊕──Rz(π/2)──
        >>> Circuit(1).x(0).draw("svg").startswith("<svg")
        True
        """
        from . import drawing

        renderers = {"text": drawing.text_drawing, "svg": drawing.svg_drawing}
        allowed = {"text": {"width"}, "svg": set(), "mpl": {"ax"}}
        if output not in allowed:
            raise CircuitError(f"Cannot draw the circuit as {output!r}: allowed outputs are 'text', 'svg' and 'mpl'.")
        unknown = set(options) - allowed[output]
        if unknown:
            raise CircuitError(
                f"Cannot draw the circuit as {output!r}: unknown option(s) {sorted(unknown)}; "
                f"it takes {sorted(allowed[output]) or 'none'}."
            )
        if output == "mpl":
            from .mpl_drawing import mpl_drawing

            return mpl_drawing(self, **options)
        return renderers[output](self, **options)

    def save(self, path, dpi: float = 200) -> Path:
        """Save the drawing to a file for slides or papers; the format comes from the suffix.

        ``.svg`` is the SVG drawing itself (no matplotlib needed); ``.pdf``,
        ``.png``, ``.eps`` and the other formats matplotlib writes come from
        the matplotlib drawing.

        Args:
            path: the file to write (a ``str`` or ``pathlib.Path``).
            dpi: the resolution of raster formats such as PNG.

        Returns:
            The path written.

        Raises:
            CircuitError: for a suffix no writer knows.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt == "svg":
            path.write_text(self.draw("svg"), encoding="utf-8")
            return path
        from .mpl_drawing import mpl_drawing, new_figure

        fig, ax = new_figure(self, pyplot=False)
        formats = fig.canvas.get_supported_filetypes()
        if fmt not in formats:
            raise CircuitError(
                f"Cannot save the circuit to {str(path)!r}: unknown format {fmt!r}; "
                f"use one of {', '.join('.' + f for f in sorted(formats))}."
            )
        mpl_drawing(self, ax=ax)
        fig.savefig(path, format=fmt, dpi=dpi)
        return path

    def __str__(self) -> str:
        return self.draw("text")

    def _repr_svg_(self) -> str:
        from .drawing import svg_drawing

        return svg_drawing(self)

    def _repr_html_(self) -> str:
        return f"<div style='overflow-x:auto'>{self._repr_svg_()}</div>"

    # -------------------------------------------------------------- QASM
    @classmethod
    def from_qasm(cls, text: str) -> Circuit:
        """Read OpenQASM 2 or 3 text (see :func:`qlab.circuit.qasm.load_qasm`)."""
        from .qasm import load_qasm

        return load_qasm(text)

    def to_qasm(self, version: int = 3) -> str:
        """Write OpenQASM ``version`` 2 or 3 text (see :func:`qlab.circuit.qasm.dump_qasm`)."""
        from .qasm import dump_qasm

        return dump_qasm(self, version=version)


def _call_repr(ins: Instruction) -> str:
    if ins.name == "unitary":
        s = f"unitary(<{ins.matrix.shape[0]}x{ins.matrix.shape[1]}>, {list(ins.qubits)}, label={ins.label!r})"
    elif ins.name == "measure":
        s = f"measure({ins.qubits[0]}, {ins.clbits[0]})"
    elif ins.name == "delay":
        s = f"delay({ins.params[0]!r}, {ins.qubits[0]}, unit={ins.unit!r})"
    else:
        args = [repr(p) for p in ins.params] + [str(q) for q in ins.qubits]
        s = f"{ins.name}({', '.join(args)})"
    if ins.condition is not None:
        c = ins.condition
        target = repr(c.register) if c.register else str(c.bits[0])
        s += f".c_if({target}, {c.value})"
    return s


def _qubit_columns(gate: GateDef, qubit_args: Sequence) -> list[tuple]:
    """The qubit tuples a broadcast call stands for (see :meth:`Circuit.h`)."""
    columns, length = [], None
    for value in qubit_args:
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
            value = list(value)
            if length is not None and len(value) != length:
                raise CircuitError(
                    f"Cannot add {gate.name!r}: its qubit arguments are lists of different lengths "
                    f"({length} and {len(value)}); give lists of one length (applied pairwise) or single qubits."
                )
            length = len(value)
        columns.append(value)
    if length is None:
        return [tuple(columns)]
    return [tuple(c[i] if isinstance(c, list) else c for c in columns) for i in range(length)]


def _gate_signature(gate: GateDef) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [inspect.Parameter("self", kind)]
        + [inspect.Parameter(p, kind, annotation="float") for p in gate.param_names]
        + [inspect.Parameter(q, kind, annotation="int | Iterable[int]") for q in gate.qubit_names],
        return_annotation="Circuit",
    )


def _gate_doc(gate: GateDef, name: str) -> str:
    call = f"{name}({', '.join(gate.param_names + gate.qubit_names)})"
    alias = f" ``{name}`` is another name for ``{gate.name}``." if name != gate.name else ""
    args = [f"    {p}: an angle in radians." for p in gate.param_names]
    if gate.num_qubits == 1:
        args.append("    qubit: a qubit index, or several (a range, list, register, ...): one gate on each.")
    else:
        args += [f"    {q}: a qubit index, or a list of them." for q in gate.qubit_names]
    sample_params = [0.5] * gate.num_params
    sample_qubits = list(range(gate.num_qubits))
    example = f"Circuit({gate.num_qubits}).{name}({', '.join(map(str, sample_params + sample_qubits))})"
    result = f"Circuit({gate.num_qubits}).{gate.name}({', '.join(map(str, sample_params + sample_qubits))})"
    if gate.num_qubits == 1:
        example, result = f"Circuit(3).{name}({', '.join(map(str, sample_params))}{', ' if sample_params else ''}range(3))", (
            f"Circuit(3)" + "".join(f".{gate.name}({', '.join(map(str, sample_params + [q]))})" for q in range(3))
        )
        broadcast = ""
    else:
        broadcast = (
            "\n\nQubit arguments broadcast pairwise: lists of one length give one gate per position, and a "
            f"single index is repeated (``cx(0, [1, 2])`` is ``cx(0, 1).cx(0, 2)``)."
        )
    return (
        f"Append ``{call}``: {gate.summary}.{alias}{broadcast}\n\n"
        "Args:\n" + "\n".join(args) + "\n\n"
        "Returns:\n    The circuit itself, so calls chain.\n\n"
        "Raises:\n    CircuitError: for a qubit out of range or repeated in one gate.\n"
        "    QlabTypeError: for a wrong number of arguments or a non-integer qubit.\n\n"
        f">>> {example}\n{result}\n"
    )


def _gate_method(gate: GateDef, name: str):
    signature = _gate_signature(gate)
    call = f"{name}({', '.join(gate.param_names + gate.qubit_names)})"

    arity = gate.num_params + gate.num_qubits

    def method(self: Circuit, *args, **kwargs) -> Circuit:
        if kwargs or len(args) != arity:
            try:
                args = tuple(signature.bind(self, *args, **kwargs).arguments.values())[1:]
            except TypeError as err:
                given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
                raise QlabTypeError(
                    f"Cannot add {name!r}: call it as {call} ({gate.num_params} parameter(s), then "
                    f"{gate.num_qubits} qubit(s)); got ({given}): {err}."
                ) from None
        params, qubit_args = args[: gate.num_params], args[gate.num_params:]
        before = len(self._instructions)
        try:
            for qubits in _qubit_columns(gate, qubit_args):
                self.append(gate.name, qubits, params)
        except Exception:
            del self._instructions[before:]
            raise
        return self

    method.__name__ = name
    method.__qualname__ = f"Circuit.{name}"
    method.__signature__ = signature
    method.__doc__ = _gate_doc(gate, name)
    return method


for _name, _gate in GATES.items():
    setattr(Circuit, _name, _gate_method(_gate, _name))
for _alias, _target in ALIASES.items():
    if _alias.isidentifier() and not hasattr(Circuit, _alias):
        setattr(Circuit, _alias, _gate_method(GATES[_target], _alias))
