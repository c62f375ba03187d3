"""perfkit's exception types. Every error names the input and what is wrong."""
from __future__ import annotations


class PerfkitError(Exception):
    """Base class of every error perfkit raises on purpose."""

    def __init__(self, source: object, problem: str):
        self.source = str(source) if source is not None else "<input>"
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class ProfileError(PerfkitError):
    """A file is not a readable profile.proto, or its content is inconsistent."""


class EmptyProfileError(ProfileError):
    """A profile holds no samples (or none with a non-zero value)."""


class ArchiveError(PerfkitError):
    """A debug archive (directory or tar.gz) cannot be read safely."""


class TraceError(PerfkitError):
    """A runtime/trace file cannot be parsed."""

    def __init__(self, source: object, problem: str, offset: int | None = None):
        self.offset = offset
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(source, f"{problem}{where}")


class OptionError(PerfkitError):
    """A view was called with an option that does not fit the profile."""


class ToolMissingError(PerfkitError):
    """An external program perfkit needs is not installed."""
