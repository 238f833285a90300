"""Progress reporting, decoupled from any terminal library.

Long stages call a :class:`Progress`; the CLI passes one that draws rich progress bars,
the Python API passes :data:`SILENT` by default.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress from long work. Implementations must be cheap and thread-safe."""

    def start(self, task: str, total: float | None = None) -> None:
        """A new stage begins; ``total`` in its own units (bytes, files, candidates) if known."""

    def advance(self, amount: float = 1.0) -> None:
        """Some of the current stage's ``total`` is done."""

    def done(self) -> None:
        """The current stage has finished."""


class _Silent:
    def start(self, task: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass

    def done(self) -> None:
        pass


SILENT: Progress = _Silent()
