"""Check an MLflow tracking URI before any work: one line within seconds, not minutes of retries.

MLflow accepts a mistyped URI until the first request, then retries an
unreachable server for minutes and ends in a traceback, possibly after hours of
ASR. ``check_tracking_uri`` runs first: a malformed URI (the spec's own syntax
check, ``core.spec_checks.check_tracking_uri``, so the CLI and the spec agree),
a SQLite file in a folder that does not exist, or a server that does not answer
within ``timeout`` seconds is a ``UserError`` naming the URI.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from erc_bench.core.errors import UserError
from erc_bench.core.spec_checks import check_tracking_uri as syntax_problem

# Database schemes may carry a driver: postgresql+psycopg2.
_DATABASES = {"postgresql", "mysql", "mssql"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}


def resolve_tracking_uri(*candidates: str | None) -> str:
    """The first URI given (command line, then spec), else the default store, checked before any work:
    every command that reads or writes MLflow goes through here."""
    from erc_bench.tracking.tags import default_tracking_uri

    uri = next((c for c in candidates if c), None) or default_tracking_uri()
    check_tracking_uri(uri)
    return uri


def check_tracking_uri(uri: str, timeout: float = 5.0) -> None:
    """Raise ``UserError`` unless ``uri`` is usable: known scheme, existing folder, server answering."""
    problem = syntax_problem(uri)
    if problem:
        raise UserError(f"tracking URI: {problem}")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower().split("+")[0]
    if len(scheme) == 1:  # a Windows drive letter, C:\\..., is a path
        scheme = ""
    if scheme == "sqlite":
        _check_sqlite(uri)
    elif scheme in ("", "file"):
        folder = Path(parsed.path if scheme == "file" else uri).expanduser()
        if folder.exists() and not folder.is_dir():
            raise UserError(f"tracking URI '{uri}': {folder} is a file, not a folder for MLflow's file store")
    elif scheme in ("http", "https"):
        _check_http(uri, timeout)
    elif scheme in _DATABASES:
        _check_tcp(uri, parsed.hostname, parsed.port or _DEFAULT_PORTS[scheme], timeout)


def _check_sqlite(uri: str) -> None:
    """The store's own folder may be new (the store creates it, like ``./mlruns``); a missing parent of that
    folder is taken for a typo, so a mistyped path fails here instead of growing a tree of folders."""
    path = Path(uri[len("sqlite:///"):]).expanduser()
    if path.parent != Path("") and not path.parent.is_dir() and not path.parent.parent.is_dir():
        raise UserError(f"tracking URI '{uri}': folder {path.parent.parent} does not exist")
    if path.exists() and not path.is_file():
        raise UserError(f"tracking URI '{uri}': {path} is not a file")


def _check_http(uri: str, timeout: float) -> None:
    """Any HTTP answer (even 404 or 401) means a server is there; no answer in time is an error."""
    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(urllib.request.Request(health, method="GET"), timeout=timeout):
            return
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"tracking URI '{uri}': no MLflow server answered within {timeout:g} s ({reason}); "
                        "start it (mlflow server --port ...) or drop --tracking-uri to use ./mlruns") from None


def _check_tcp(uri: str, host: str | None, port: int, timeout: float) -> None:
    if not host:
        raise UserError(f"tracking URI '{uri}': no host")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        raise UserError(f"tracking URI '{uri}': cannot reach {host}:{port} within {timeout:g} s ({exc})") from None
