"""Errors of the importers: every one names the file, the feature or row, and the problem."""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """A file that cannot be imported, phrased for the member of staff who supplied it.

    The CLI and the upload page print ``str(error)``: one line naming the file, where in it
    (row, feature, zip member, field) and what is wrong, never a traceback.

    Parameters
    ----------
    file
        The file as the user named it (a path or an uploaded name).
    problem
        What is wrong and, where possible, what to do about it.
    where
        Row, feature, layer, field or zip member; empty when it is the file as a whole.
    """

    def __init__(self, file: str | Path, problem: str, *, where: str = "") -> None:
        self.file = str(file)
        self.where = where
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``file: where: problem`` (``where`` left out when empty)."""
        parts = [self.file, self.where, self.problem] if self.where else [self.file, self.problem]
        return ": ".join(parts)


class UnsafeArchiveError(IngestError):
    """A zip that tries to escape its folder, is a zip bomb, or is larger than allowed."""
