"""``ChainDiagram``: a live view of a plugin chain.

The view shows :meth:`qlab.chain.Simulation.diagram` (the chain with every
plugin's counters), the log lines of the plugin picked with the buttons
below it (:meth:`~qlab.chain.Simulation.logs`), and the host's send and recv
queues (:meth:`~qlab.chain.Simulation.queues`). It adds no data of its own.

While it is open it refreshes itself from the kernel's asyncio loop (the
lab's shared :class:`~qlab.lab.refresh.Refresher`, as the job table does), so run the simulation without blocking the kernel
(:meth:`~qlab.chain.Simulation.submit`) to watch the counters move. Outside
a running loop nothing is scheduled; call :meth:`ChainDiagram.refresh`.

>>> from qlab import Circuit
>>> from qlab.chain import Simulation, plugins
>>> sim = Simulation(plugins.circuit_frontend(Circuit(1).h(0).measure_all()), backend=plugins.null_backend(), store=False)
>>> view = ChainDiagram(sim)
>>> _ = sim.run()
>>> view.refresh()
>>> "<svg" in view.picture.value, view.plugins.options
(True, ('circuit', 'null'))
"""

from __future__ import annotations

import time
from html import escape

import ipywidgets as widgets

from ..chain import Simulation
from ..exceptions import QlabTypeError
from .refresh import Refresher

__all__ = ["ChainDiagram"]

LOG_LINES = 40
"""Log lines shown for the picked plugin."""


class ChainDiagram(widgets.VBox):
    """The chain's diagram with live counters, a plugin's log lines on click, and the host's queues.

    Args:
        simulation: the :class:`~qlab.chain.Simulation` to show.
        interval: seconds between refreshes while the view is open.
    """

    def __init__(self, simulation: Simulation, interval: float = 0.25):
        if not isinstance(simulation, Simulation):
            raise QlabTypeError(f"ChainDiagram needs a qlab.chain.Simulation, got {type(simulation).__name__}.")
        self.simulation = simulation
        self.interval = float(interval)
        self.picture = widgets.HTML()
        self.plugins = widgets.ToggleButtons(
            options=simulation.names, index=None, description="logs of", tooltips=[f"log lines of {n}" for n in simulation.names]
        )
        self.log_view = widgets.HTML()
        self.queue_view = widgets.HTML()
        self.plugins.observe(lambda change: self.refresh(), names="value")
        super().__init__([self.picture, self.plugins, self.log_view, self.queue_view])
        self.refresh()
        self.refresher = Refresher(self.refresh, self.interval)
        self.refresher.start()

    def __repr__(self) -> str:
        return f"ChainDiagram({self.simulation!r})"

    # ----------------------------------------------------------- contents
    def refresh(self) -> None:
        """Redraw the diagram, the picked plugin's log lines and the queues."""
        sim = self.simulation
        selected = self.plugins.value
        self.picture.value = sim.diagram(selected)
        if selected is None:
            self.log_view.value = "<i>Pick a plugin to see its log lines.</i>"
        else:
            lines = sim.logs(selected)[-LOG_LINES:]
            text = "\n".join(f"{time.strftime('%H:%M:%S', time.localtime(t))} {level:>5} {msg}" for t, level, msg in lines)
            self.log_view.value = (
                f"<b>{escape(selected)}</b>: {len(lines)} line(s)"
                f"<pre style='max-height:14em;overflow:auto;margin:0'>{escape(text) or '(no log lines yet)'}</pre>"
            )
        queues = sim.queues()
        rows = "".join(
            f"<tr><td>{name}</td><td>{len(items)}</td><td><code>{escape(', '.join(repr(d) for d in items[:5]))}"
            f"{' ...' if len(items) > 5 else ''}</code></td></tr>"
            for name, items in (("send (host to frontend)", queues["send"]), ("recv (frontend to host)", queues["recv"]))
        )
        self.queue_view.value = f"<table><tr><th>host queue</th><th>items</th><th>first items</th></tr>{rows}</table>"

    # ------------------------------------------------------------- live
    @property
    def live(self) -> bool:
        """Whether the view refreshes itself."""
        return self.refresher.running

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        if hasattr(self, "refresher"):  # not yet there when the constructor refused its argument
            self.refresher.stop()
        super().close()
