"""User-facing errors: the CLI prints them as one line and exits with code 2.

Anything that is the user's to fix (a spec key, a missing corpus, an unset API
key) raises a subclass of ``UserError``; everything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; printed without a traceback."""

    exit_code = 2


class SpecError(UserError):
    """A benchmark spec is wrong. Formats as ``file: key.path: message``."""

    def __init__(self, file: str, key_path: str, message: str) -> None:
        self.file, self.key_path, self.message = file, key_path, message
        super().__init__(f"{file}: {key_path or '<root>'}: {message}")


class DataError(UserError):
    """A corpus is missing or laid out wrongly; says where and how to obtain it.

    ``obtain``: the corpus card's "how to obtain" lines (release form, URL, ...); the CLI prints them
    under the one-line error, so a missing root tells the user what to do next."""

    def __init__(self, message: str, obtain: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.obtain = tuple(obtain)


class PluginError(UserError):
    """Unknown component name, duplicate registration, or a plugin that failed to load."""


class ParamsError(PluginError, ValueError):
    """A component's params fail its ``Params`` model (also a ``ValueError``, as pydantic's own error is)."""


class ComponentError(PluginError):
    """A component's constructor (or its module's contract check) failed: names the slot, plugin and package."""


class SecretError(UserError):
    """A secret is missing from the environment or was written into a spec."""
