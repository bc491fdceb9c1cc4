"""Long work with a ``tqdm.auto`` progress bar: waiting on many jobs, submitting a batch, sweeping a parameter.

``tqdm.auto`` draws a widget bar in a notebook and a text bar elsewhere;
``progress=False`` turns it off.

>>> sweep(lambda p: 1 - p, [0.0, 0.5], progress=False)
[1.0, 0.5]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from tqdm.auto import tqdm

from ..exceptions import QlabTimeoutError

__all__ = ["wait_all", "submit_batch", "sweep"]

_POLL = 0.05


def wait_all(jobs: Sequence, timeout: float | None = None, *, progress: bool = True) -> list:
    """Wait until every job finished, with one bar over the jobs; return their final statuses.

    Jobs of any family work: each needs ``check()`` returning a status whose
    ``name`` is ``DONE``, ``CANCELED`` or ``FAILED`` when it finished.

    Raises:
        QlabTimeoutError: ``timeout`` seconds passed first (the message says how many are left).
    """
    jobs = list(jobs)
    deadline = None if timeout is None else time.monotonic() + timeout
    finished: dict[int, object] = {}
    with tqdm(total=len(jobs), desc="jobs", unit="job", disable=not progress) as bar:
        while len(finished) < len(jobs):
            for i, job in enumerate(jobs):
                if i not in finished:
                    status = job.check()
                    if status.name in ("DONE", "CANCELED", "FAILED"):
                        finished[i] = status
                        bar.update()
            if len(finished) == len(jobs):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise QlabTimeoutError(
                    f"wait_all: {len(jobs) - len(finished)} of {len(jobs)} job(s) still running after {timeout} s; "
                    "wait longer or cancel them."
                )
            time.sleep(_POLL)
    return [finished[i] for i in range(len(jobs))]


def submit_batch(device, programs: Iterable[str], *, shots: int = 1024, seed: int | None = None,
                 program_format: str | None = None, progress: bool = True) -> list:
    """Create and submit one QDMI job per program on ``device``; return the jobs.

    The format is read from each program's ``OPENQASM`` line unless given.
    A program the device refuses raises at once (the jobs submitted before it keep running).
    """
    from ..qdmi import JobParameter

    programs = list(programs)
    jobs = []
    for program in tqdm(programs, desc="submitting", unit="job", disable=not progress):
        job = device.create_job()
        fmt = program_format or ("qasm3" if program.lstrip().startswith("OPENQASM 3") else "qasm2")
        job.set_parameter(JobParameter.PROGRAMFORMAT, fmt)
        job.set_parameter(JobParameter.PROGRAM, program)
        job.set_parameter(JobParameter.SHOTSNUM, shots)
        if seed is not None:
            job.set_parameter(JobParameter.SEED, seed)
        job.submit()
        jobs.append(job)
    return jobs


def sweep(function: Callable, values: Iterable, *, desc: str = "sweep", progress: bool = True) -> list:
    """``[function(v) for v in values]`` with a progress bar."""
    values = list(values)
    return [function(v) for v in tqdm(values, desc=desc, disable=not progress)]
