"""A view of a QPU: what it is (its specs), the plugins in front of it, and its resource limits.

Works on any :class:`qlab.qpu.QPUHandler`, local or remote: everything shown
comes from ``get_specs()``, ``plugins`` and ``limits``, so each part is one
line of Python too (``qpu.get_specs().df()``).

>>> from qlab.qpu import DensityMatrixQPU, ObservableSplitter, AllocationModel
>>> qpu = ObservableSplitter() | DensityMatrixQPU()
>>> qpu.apply_resource_consumption_limits(AllocationModel(max_qubits=10))
>>> view = QPUView(qpu)
>>> view.df().set_index("property").loc[["plugins", "limits"], "value"].tolist()
['ObservableSplitter()', 'AllocationModel(max_qubits=10)']
>>> print(view)
QPU: ObservableSplitter() | DensityMatrixQPU()
  plugins: ObservableSplitter()
  limits: AllocationModel(max_qubits=10)
  nbqbits: 14
  ...
"""

from __future__ import annotations

import html

import pandas as pd

from ..exceptions import QlabTypeError
from ..qpu import HardwareSpecs, PluginStack, QPUHandler

__all__ = ["QPUView"]


class QPUView:
    """A QPU's specs, plugin stack and limits as a table, HTML, or an ipywidgets box.

    Args:
        qpu: any QPU (plugin stacks and remote QPUs included).
    """

    def __init__(self, qpu: QPUHandler):
        if not isinstance(qpu, QPUHandler):
            raise QlabTypeError(f"QPUView shows a qlab.qpu.QPUHandler, got {type(qpu).__name__}.")
        self.qpu = qpu
        """The QPU shown."""

    def specs(self) -> HardwareSpecs:
        """The QPU's specs, asked now (a remote QPU asks its server)."""
        return self.qpu.get_specs()

    def _rows(self, specs: HardwareSpecs) -> list[tuple[str, object]]:
        plugins = " | ".join(repr(p) for p in self.qpu.plugins) or "none"
        base = self.qpu.qpu if isinstance(self.qpu, PluginStack) else self.qpu
        return [("qpu", repr(base)), ("plugins", plugins), ("limits", repr(self.qpu.limits) if self.qpu.limits else "none"),
                *specs._rows().items()]

    def df(self) -> pd.DataFrame:
        """One row per property: the QPU, its plugins, its limits, then its specs."""
        return pd.DataFrame(self._rows(self.specs()), columns=["property", "value"])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>" for k, v in self._rows(self.specs()))
        return f"<table><caption>{html.escape(repr(self.qpu))}</caption>{rows}</table>"

    def __str__(self) -> str:
        rows = self._rows(self.specs())
        return "\n".join([f"QPU: {self.qpu!r}"] + [f"  {k}: {v}" for k, v in rows[1:]])

    def __repr__(self) -> str:
        return f"QPUView({self.qpu!r})"

    def widget(self):
        """An ipywidgets box: the table, and a button that asks the QPU again."""
        import ipywidgets as widgets

        table = widgets.HTML(self._repr_html_())
        refresh = widgets.Button(description="Refresh", tooltip="ask the QPU for its specs again")

        def on_click(_):
            table.value = self._repr_html_()

        refresh.on_click(on_click)
        return widgets.VBox([table, refresh])
