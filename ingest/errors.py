"""Errors of the importers: every one names the file, the feature or row, and the problem."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy.exc

from models.db import connection_lost


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


class DatabaseLost(IngestError):
    """The database went away during an import: nothing was written (one transaction)."""


class DatabaseFull(IngestError):
    """The database's disk filled up during an import: rolled back, nothing was written."""


class ConcurrentImport(IngestError):
    """Another import wrote the same rows first: this one was rolled back."""


@contextmanager
def database_guard(file: str | Path) -> Iterator[None]:
    """Turn the driver's errors for a lost connection or a lost race into one clear line.

    The import runs in one transaction, so in both cases nothing was written; the message
    says so and what to do.  Any other database error passes through unchanged.
    """
    # psycopg logs its own warning when a COPY cannot be ended on a dead connection: noise on
    # the CLI once the one line below says the connection was lost.
    driver_log = logging.getLogger("psycopg")
    level = driver_log.level
    driver_log.setLevel(logging.ERROR)
    try:
        yield
    except sqlalchemy.exc.IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        msg = (
            "another import stored some of the same rows while this one ran; nothing was "
            "written (导入冲突，未写入) - run the import again: rows already stored are skipped"
        )
        raise ConcurrentImport(file, msg) from None
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        if getattr(exc.orig, "sqlstate", None) == _DISK_FULL:
            msg = (
                "the database server's disk is full; the import was rolled back and nothing "
                "was written (数据库磁盘已满，未写入任何数据) - free space on the database's disk "
                "and run the import again"
            )
            raise DatabaseFull(file, msg) from None
        if not connection_lost(exc):
            raise
        msg = (
            "the database connection was lost during the import; nothing was written "
            "(数据库连接中断，未写入任何数据) - check that the database is running "
            "(qungong db status) and run the import again"
        )
        raise DatabaseLost(file, msg) from None
    finally:
        driver_log.setLevel(level)


# PostgreSQL's SQLSTATEs for a unique violation and for a full disk.
_UNIQUE_VIOLATION = "23505"
_DISK_FULL = "53100"
