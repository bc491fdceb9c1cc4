"""The errors of the jobs layer.

They derive from :class:`qlab.exceptions.QlabError` and from the built-in
exception with the same meaning, so ``except KeyError`` or
``except ValueError`` keeps working.
"""

from __future__ import annotations

from qlab.exceptions import QlabError

__all__ = ["JobNotFoundError", "JobQueueError", "JobStateError", "JobStoreError"]


class JobNotFoundError(QlabError, KeyError):
    """No job with the given id is in the store.

    >>> str(JobNotFoundError("No job 'abc' in JobStore(':memory:')."))
    "No job 'abc' in JobStore(':memory:')."
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class JobStateError(QlabError, ValueError):
    """A job cannot do what was asked in its present status.

    Raised for an illegal status transition, an unknown status value, a
    duplicate id, or submitting a job that is not ``created``.
    """


class JobQueueError(QlabError, RuntimeError):
    """A job queue was configured or used wrongly (bad worker count, submit after shutdown)."""


class JobStoreError(QlabError):
    """A job store file cannot be opened or was written by an incompatible qlab."""
