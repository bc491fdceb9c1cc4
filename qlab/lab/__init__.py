"""qlab.lab: Jupyter views and plots over qlab's public objects.

Every view is a thin layer over objects that already have ``.df()`` and plot
functions, so anything a widget shows can be reproduced in one line of Python.
Each family's view lives in its own module here; the names below load their
module on first use, so ``import qlab.lab`` stays cheap.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "ChainDiagram": "qlab.lab.chain",
    # device descriptions for views (the protocol every family's device plugs into)
    "DeviceSpecs": "qlab.lab.specs",
    "device_specs": "qlab.lab.specs",
    # plots
    "plot_coupling_map": "qlab.lab.plots",
    "plot_calibration": "qlab.lab.plots",
    "plot_histogram": "qlab.lab.plots",
    "compare": "qlab.lab.plots",
    "plot_density_matrix": "qlab.lab.plots",
    # widgets
    "DeviceConsole": "qlab.lab.console",
    "JobQueue": "qlab.lab.queue",
    "NoiseExplorer": "qlab.lab.explorer",
    # long work with a progress bar
    "wait_all": "qlab.lab.progress",
    "submit_batch": "qlab.lab.progress",
    "sweep": "qlab.lab.progress",
    # family views
    "EmulatorView": "qlab.lab.emulator",
    "QPUView": "qlab.lab.qpu",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'qlab.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
