"""What every ``qungong`` command shares: one way to fail with a clear line."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def fail(message: str) -> NoReturn:
    """Print one clear line and exit 1: users never see a traceback."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)
