"""The QPU interface (``QPUHandler``), plugins, and plugin stacks.

A QPU runs jobs: subclasses implement :meth:`QPUHandler.submit_job`, and
:meth:`~QPUHandler.submit` takes a :class:`~qlab.qpu.Job` (giving a
:class:`~qlab.qpu.Result`) or a :class:`~qlab.qpu.Batch` (giving a
:class:`~qlab.qpu.BatchResult` in job order).

A plugin rewrites batches on the way in (``compile(batch, specs)``) and
batch results on the way out (``post_process(batch_result)``). ``plugin |
qpu`` is a new QPU (a :class:`PluginStack`); ``a | b | qpu`` compiles with
``a`` then ``b`` and post-processes with ``b`` then ``a``. Stacks and plugin
chains are immutable: ``|`` builds new objects and changes neither side.
Plugins keep what they need between the two steps in the batch's
``meta_data``, which comes back as the batch result's ``meta_data``, so one
plugin object serves many batches at once (and across the network).

>>> from qlab import Circuit
>>> from qlab.qpu import DensityMatrixQPU, Job, Plugin
>>> class Tag(Plugin):
...     def post_process(self, batch_result):
...         for r in batch_result:
...             r.meta_data["tagged"] = True
...         return batch_result
>>> stack = Tag() | DensityMatrixQPU()
>>> stack
Tag() | DensityMatrixQPU()
>>> stack.submit(Job(Circuit(1).x(0))).meta_data["tagged"]
True
"""

from __future__ import annotations

import html

from ..exceptions import QlabTypeError
from .data import Batch, BatchResult, Job, Result
from .resources import AllocationModel, ResourceModel, check_limits
from .specs import HardwareSpecs

__all__ = ["QPUHandler", "Plugin", "PluginChain", "PluginStack"]


class Plugin:
    """Rewrites batches before a QPU runs them and their results afterwards.

    Subclasses override :meth:`compile` and/or :meth:`post_process`; both
    default to passing data through. A plugin holds configuration only, never
    per-batch state (that goes into ``batch.meta_data``).
    """

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        """The batch to run instead of ``batch`` on a QPU described by ``specs``."""
        return batch

    def post_process(self, batch_result: BatchResult) -> BatchResult:
        """The batch result to hand back instead of ``batch_result``."""
        return batch_result

    def __or__(self, other):
        if isinstance(other, PluginStack):
            return PluginStack(_plugins(self) + other.plugins, other.qpu)
        if isinstance(other, QPUHandler):
            return PluginStack(_plugins(self), other)
        if isinstance(other, Plugin):
            return PluginChain(_plugins(self) + _plugins(other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _plugins(plugin: Plugin) -> tuple[Plugin, ...]:
    return plugin.plugins if isinstance(plugin, PluginChain) else (plugin,)


class PluginChain(Plugin):
    """Plugins applied in order (``a | b``): compile with ``a`` then ``b``, post-process with ``b`` then ``a``."""

    def __init__(self, plugins):
        plugins = tuple(plugins)
        for p in plugins:
            if not isinstance(p, Plugin):
                raise QlabTypeError(f"A plugin chain takes qlab.qpu.Plugin objects, got {type(p).__name__}.")
        self._plugins = plugins

    @property
    def plugins(self) -> tuple[Plugin, ...]:
        """The plugins, outermost first."""
        return self._plugins

    def compile(self, batch: Batch, specs: HardwareSpecs) -> Batch:
        for plugin in self._plugins:
            batch = plugin.compile(batch, specs)
        return batch

    def post_process(self, batch_result: BatchResult) -> BatchResult:
        for plugin in reversed(self._plugins):
            batch_result = plugin.post_process(batch_result)
        return batch_result

    def __repr__(self) -> str:
        return " | ".join(map(repr, self._plugins)) if self._plugins else "PluginChain(())"


class QPUHandler:
    """A QPU: runs jobs and batches, describes itself, estimates and limits resources.

    Args:
        plugins: plugins applied to every batch (outermost first); the same as
            stacking them with ``|``.

    Subclasses implement :meth:`submit_job`; :meth:`get_specs`,
    :meth:`estimate_resources_for_batch` and :meth:`_run_batch` may be refined.
    """

    def __init__(self, plugins=None):
        self._chain = PluginChain(plugins or ())
        self._limits: AllocationModel | None = None

    # ------------------------------------------------------------ running
    def submit_job(self, job: Job) -> Result:
        """Run one (already compiled) job: the end of the pipe."""
        raise NotImplementedError(f"{type(self).__name__} must implement submit_job(job) -> Result.")

    def submit(self, batch: Batch | Job, meta_data: dict | None = None) -> BatchResult | Result:
        """Run a batch (or a single job) through the plugins; results come back in job order.

        Args:
            batch: a :class:`Batch`, or one :class:`Job` (then one :class:`Result` comes back).
            meta_data: merged into the batch's metadata.

        Raises:
            ResourceLimitError: a job is over a limit set with
                :meth:`apply_resource_consumption_limits` (nothing ran).
        """
        single = isinstance(batch, Job)
        if single:
            batch = Batch([batch])
        elif not isinstance(batch, Batch):
            raise QlabTypeError(f"submit takes a qlab.qpu.Batch or Job, got {type(batch).__name__}.")
        if meta_data:
            batch = Batch(batch.jobs, {**batch.meta_data, **meta_data})
        if self._chain.plugins:
            batch = self._chain.compile(batch, self.get_specs())
        self._check_limits(batch)
        out = self._run_batch(batch)
        out.meta_data = {**batch.meta_data, **out.meta_data}
        out = self._chain.post_process(out)
        return out.results[0] if single else out

    def _check_limits(self, batch: Batch) -> None:
        """Refuse ``batch`` (already compiled) if it needs more than the limits allow."""
        if self._limits is not None:
            check_limits(self._estimate(batch), self._limits)

    def _run_batch(self, batch: Batch) -> BatchResult:
        """Run the compiled jobs (one by one; subclasses may run them in parallel)."""
        return BatchResult([self.submit_job(job) for job in batch.jobs])

    # ------------------------------------------------------ what it says
    def get_specs(self) -> HardwareSpecs:
        """What this QPU is (an empty description unless a subclass says more)."""
        return HardwareSpecs()

    def estimate_resources_for_batch(self, batch: Batch) -> ResourceModel:
        """What ``batch`` would need here, after this QPU's plugins compiled it."""
        if isinstance(batch, Job):
            batch = Batch([batch])
        if self._chain.plugins:
            batch = self._chain.compile(batch, self.get_specs())
        return self._estimate(batch)

    def _estimate(self, batch: Batch) -> ResourceModel:
        raise NotImplementedError(f"{type(self).__name__} does not estimate resources.")

    def apply_resource_consumption_limits(self, allocation_model: AllocationModel) -> None:
        """From now on, refuse (before running anything) batches that need more than ``allocation_model``."""
        if not isinstance(allocation_model, AllocationModel):
            raise QlabTypeError(f"Expected a qlab.qpu.AllocationModel, got {type(allocation_model).__name__}.")
        self._limits = allocation_model

    @property
    def limits(self) -> AllocationModel | None:
        """The limits in force (``None``: none)."""
        return self._limits

    @property
    def fork_safe(self) -> bool:
        """Whether a forked copy of this QPU can run jobs (no worker threads or event loops it relies on)."""
        return True

    # ------------------------------------------------------------ serving
    def serve(self, port: int, host_ip: str = "localhost", server_type: str | None = None, **options):
        """Run this QPU inside an HTTP+JSON server (see :func:`qlab.qpu.server.serve`)."""
        from .server import serve

        return serve(self, port, host_ip, server_type, **options)

    # ------------------------------------------------------------ stacks
    @property
    def plugins(self) -> tuple[Plugin, ...]:
        """The plugins applied to every batch, outermost first."""
        return self._chain.plugins

    def _repr_args(self) -> str:
        return ""

    def __repr__(self) -> str:
        base = f"{type(self).__name__}({self._repr_args()})"
        return f"{self._chain!r} | {base}" if self._chain.plugins else base

    def _repr_html_(self) -> str:
        stack = "".join(f"<li>{html.escape(repr(p))}</li>" for p in self.plugins)
        return (f"<p>{html.escape(type(self).__name__)}</p>" + (f"<ol>{stack}</ol>" if stack else "")
                + self.get_specs()._repr_html_())


class PluginStack(QPUHandler):
    """``plugins | qpu``: a QPU whose batches go through ``plugins`` first (built with ``|``)."""

    def __init__(self, plugins, qpu: QPUHandler):
        if not isinstance(qpu, QPUHandler):
            raise QlabTypeError(f"A plugin stack ends with a QPUHandler, got {type(qpu).__name__}.")
        super().__init__(plugins)
        self._qpu = qpu

    @property
    def qpu(self) -> QPUHandler:
        """The QPU under the plugins."""
        return self._qpu

    def submit_job(self, job: Job) -> Result:
        return self._qpu.submit(job)

    def _run_batch(self, batch: Batch) -> BatchResult:
        return self._qpu.submit(batch)

    def get_specs(self) -> HardwareSpecs:
        return self._qpu.get_specs()

    def _estimate(self, batch: Batch) -> ResourceModel:
        return self._qpu.estimate_resources_for_batch(batch)

    def apply_resource_consumption_limits(self, allocation_model: AllocationModel) -> None:
        """Set the limits on the QPU under the plugins (they judge the batch as it will run)."""
        self._qpu.apply_resource_consumption_limits(allocation_model)

    @property
    def limits(self) -> AllocationModel | None:
        return self._qpu.limits

    @property
    def fork_safe(self) -> bool:
        return self._qpu.fork_safe

    def __repr__(self) -> str:
        return f"{self._chain!r} | {self._qpu!r}"
