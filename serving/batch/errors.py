"""Why a batch job as a whole could not run; a bad image is never one of these, it is an error row."""

from __future__ import annotations

from serving.errors import DigitsError


class BatchJobError(DigitsError):
    """Base of the batch job's errors; the message says what to do."""


class InputError(BatchJobError):
    """An input or output location is missing, unreadable or of an unknown kind."""


class EngineUnavailableError(BatchJobError):
    """The chosen engine cannot start: Ray is not installed, or its cluster cannot be reached."""


class JobFailedError(BatchJobError):
    """The job stopped part-way: a worker process died or raised, or a dataset file is corrupt."""


class JobTimeoutError(JobFailedError):
    """The job ran past its --timeout-s; its workers (and an embedded Ray) have been stopped."""
