"""Checks on spec values that pydantic types alone do not express.

Kept apart from ``spec`` so the loader stays readable: what a tracking URI may
look like, what an API key looks like (known shapes only, so a commit hash in a
description is not mistaken for one), which environment variable names hold
secrets, and the did-you-mean for a misspelt key.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from erc_bench.core.errors import SpecError
from erc_bench.core.secrets import remember

SECRET_VALUE = re.compile(
    r"^(sk-ant-[A-Za-z0-9_\-]{16,}|sk-(proj-|svcacct-)?[A-Za-z0-9_\-]{16,}|tgp_v1_[A-Za-z0-9_\-]{16,}"
    r"|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}"
    r"|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_\-]{35}|AKIA[0-9A-Z]{16}"
    r"|xox[abpr]-[A-Za-z0-9\-]{10,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})$"
)
"""Known API-key shapes (OpenAI, Anthropic, Together, Hugging Face, GitHub, GitLab, xAI, Groq, Google, AWS,
Slack, JWT). A bare 40-hex string is a commit hash far more often than a key, so it is not one here."""

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
"""Environment variable names whose values are never logged: their ``${VAR}`` form is logged instead."""

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_KEY_NAMES = {"api_key", "apikey", "secret", "token", "password", "access_token", "auth_token"}
TRACKING_SCHEMES = {"file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks",
                    "databricks-uc", "uc"}
MAX_SEED = 2**32 - 1
"""numpy's seed range; torch and random accept more, but a seed must reproduce everywhere."""
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1 << 20

# Spec value types. Integers are strict (``batch_size = true`` is not 1); floats are made finite by the models'
# ``allow_inf_nan=False`` (``lr = inf`` is not a rate).
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]
Epochs = Annotated[StrictInt, Field(ge=1, le=MAX_EPOCHS)]
BatchSize = Annotated[StrictInt, Field(ge=1, le=MAX_BATCH_SIZE)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def looks_like_key(value: str) -> bool:
    return bool(SECRET_VALUE.match(value.strip()))


def check_tracking_uri(uri: str) -> str | None:
    """Why ``uri`` cannot be an MLflow tracking URI, or None. A plain path is a local store."""
    text = uri.strip()
    if not text:
        return "empty tracking URI"
    parsed = urlparse(text)
    scheme = parsed.scheme.lower().split("+", 1)[0]
    if not parsed.scheme or len(parsed.scheme) == 1:  # a path (a drive letter on Windows)
        return None
    if scheme not in TRACKING_SCHEMES:
        return (f"unsupported tracking URI scheme '{parsed.scheme}' in {text!r}; use a path, sqlite:///file.db, "
                f"file:///dir, http(s)://host:port or a database URL")
    if scheme in ("http", "https") and not parsed.hostname:
        return f"{text!r} names no host; expected http(s)://host:port"
    if scheme == "sqlite" and not text.lower().startswith("sqlite:///"):
        return f"{text!r}: a SQLite store is written sqlite:///relative.db or sqlite:////absolute/path.db"
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Model``, ``Model | None`` or ``list[Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (typing.Union, list):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def did_you_mean(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """`` (did you mean 'x'?)`` for an unknown key at ``loc`` under ``model``, or ''."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None:
            return ""
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_of(field.annotation) if field is not None else None
    if current is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(current.model_fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def expand_env(node: Any, path: str, file: str, unset: list[str]) -> Any:
    """Expand ``${VAR}`` and reject anything that looks like a secret, before and after expansion."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if str(key).lower() in SECRET_KEY_NAMES:
                hint = f'({key}_env = "VAR")'
                raise SpecError(file, sub, f"secrets never go in a spec; name the environment variable instead {hint}")
            out[key] = expand_env(value, sub, file, unset)
        return out
    if isinstance(node, list):
        return [expand_env(v, f"{path}.{i}", file, unset) for i, v in enumerate(node)]
    if isinstance(node, str):
        if looks_like_key(node):
            raise SpecError(file, path, "this value looks like an API key; put it in an environment variable")

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in os.environ:
                value = os.environ[name]
                if looks_like_key(value):  # checked after expansion too: the key must not reach a param
                    raise SpecError(file, path, f"the value of ${{{name}}} looks like an API key; keys reach a "
                                                f"component only through its *_env param (api_key_env = \"{name}\")")
                if SECRET_NAME.search(name):
                    remember(value, name)  # usable, but logged and cached as ${NAME}
                return value
            unset.append(f"{path}: ${{{name}}}")
            return match.group(0)

        return ENV_REF.sub(expand, node)
    return node
