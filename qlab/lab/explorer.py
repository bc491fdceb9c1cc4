"""``NoiseExplorer``: sliders for a circuit's noise, with its histogram, fidelity and purity updating live.

Each slider sets one knob of a simple, physical noise model (see
:func:`explorer_noise`); any change re-simulates the circuit exactly (no
shots, so nothing jumps around) and redraws. Each slider is observed (as
``ipywidgets.interactive_output`` does, without its ``Output`` area): the
update runs in the kernel's thread when a slider moves and only changes trait
values (an image, an HTML field), so nothing prints into a cell and the
widget works the same in a test.

>>> import qlab
>>> explorer = NoiseExplorer(qlab.Circuit(2).h(0).cx(0, 1).measure_all())
>>> explorer.depolarizing.value = 0.1
>>> round(explorer.fidelity, 4)
0.88
>>> explorer.close()
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..circuit import Circuit
from ..circuit.gates import GATES
from ..exceptions import QlabError
from ..sim import NoiseModel, ReadoutError, depolarizing, simulate, thermal_relaxation
from ..sim.plotting import as_distribution, plot_distributions
from .views import Png, error_html, figure_png

__all__ = ["NoiseExplorer", "explorer_noise"]


def explorer_noise(circuit: Circuit, *, depolarizing_p: float = 0.0, t1_us: float = float("inf"),
                   t2_us: float = float("inf"), gate_ns: float = 0.0, readout: float = 0.0) -> NoiseModel:
    """The explorer's noise model for ``circuit``.

    After every gate: depolarizing noise of strength ``depolarizing_p`` on
    the gate's qubits, then thermal relaxation with ``t1_us``/``t2_us`` over
    ``gate_ns`` on each of them. Every gate lasts ``gate_ns``, so waiting
    qubits idle with the same T1/T2. Every readout flips with probability
    ``readout``.

    >>> model = explorer_noise(Circuit(1).x(0), t1_us=50, t2_us=30, gate_ns=100)
    >>> model.gate_error("x", (0,)) == thermal_relaxation(50e-6, 30e-6, 100e-9)
    True

    Raises:
        QlabError: T2 is more than twice T1, or a value is out of range.
    """
    from ..sim import IdleNoise

    if t2_us > 2 * t1_us:
        raise QlabError(f"T2 ({t2_us:g} µs) cannot exceed 2·T1 ({2 * t1_us:g} µs); lower T2 or raise T1.")
    model = NoiseModel()
    relax = gate_ns > 0 and t1_us != float("inf")
    for name in circuit.count_ops():
        if name not in GATES:
            continue
        arity = GATES[name].num_qubits
        channel = depolarizing(depolarizing_p, arity) if depolarizing_p > 0 else None
        if relax:
            one = thermal_relaxation(t1_us * 1e-6, t2_us * 1e-6, gate_ns * 1e-9)
            many = one
            for _ in range(arity - 1):
                many = many.tensor(one)
            channel = many if channel is None else channel.then(many)
        if channel is not None:
            model = model.with_gate_error(name, channel)
        if gate_ns > 0:
            model = model.with_duration(name, gate_ns * 1e-9)
    if relax:
        model = model.with_idle_noise(IdleNoise.from_t1_t2(t1_us * 1e-6, t2_us * 1e-6))
    if readout > 0:
        model = model.with_readout_error(ReadoutError.symmetric(readout))
    return model


class NoiseExplorer(widgets.VBox):
    """Sliders for depolarizing strength, T1, T2, gate time and readout error on ``circuit``.

    Shows the ideal and noisy outcome distributions side by side, and the
    noisy state's fidelity with the ideal state and its purity.

    Args:
        circuit: the circuit to explore (its final measurements give the histogram).
        top: how many outcomes the histogram shows.
    """

    def __init__(self, circuit: Circuit, top: int = 16):
        self.circuit = circuit
        self.top = top
        self.ideal = simulate(circuit)
        style = {"description_width": "11em"}
        layout = widgets.Layout(width="34em")
        self.depolarizing = widgets.FloatSlider(0.0, min=0, max=0.3, step=0.005, readout_format=".3f",
                                                description="depolarizing p", style=style, layout=layout)
        self.t1 = widgets.FloatLogSlider(100.0, base=10, min=0, max=3, description="T1 (µs)", style=style, layout=layout)
        self.t2 = widgets.FloatLogSlider(100.0, base=10, min=0, max=3, description="T2 (µs)", style=style, layout=layout)
        self.gate_time = widgets.FloatSlider(0.0, min=0, max=2000, step=10, description="gate time (ns)", style=style,
                                             layout=layout)
        self.readout = widgets.FloatSlider(0.0, min=0, max=0.2, step=0.005, readout_format=".3f",
                                           description="readout error", style=style, layout=layout)
        self.stats = widgets.HTML()
        self.image = Png()
        self.fidelity = 1.0
        """Fidelity of the noisy state with the ideal one, for the current sliders."""
        self.purity = 1.0
        """Purity of the noisy state, for the current sliders."""
        controls = [self.depolarizing, self.t1, self.t2, self.gate_time, self.readout]
        for control in controls:
            control.observe(lambda _change: self.update(), names="value")
        super().__init__([*controls, self.stats, self.image])
        self.update()

    def update(self) -> None:
        """Simulate with the sliders' values and redraw (called whenever a slider moves)."""
        p, t1, t2, gate, readout = (self.depolarizing.value, self.t1.value, self.t2.value, self.gate_time.value,
                                    self.readout.value)
        try:
            noise = explorer_noise(self.circuit, depolarizing_p=p, t1_us=t1, t2_us=t2, gate_ns=gate, readout=readout)
            noisy = simulate(self.circuit, noise)
        except QlabError as err:
            self.stats.value = error_html("These settings are not physical", err)
            return
        self.fidelity = noisy.state.fidelity(self.ideal.state)
        self.purity = noisy.state.purity()
        self.stats.value = (f"<p>fidelity with the ideal state <b>{self.fidelity:.4f}</b> · "
                            f"purity <b>{self.purity:.4f}</b> · {html.escape(repr(noise))[:160]}</p>")
        dists = [as_distribution(self.ideal), as_distribution(noisy)]
        self.image.value = figure_png(lambda ax: plot_distributions(dists, ["ideal", "noisy"], ax=ax, top=self.top),
                                      (6, 3))
