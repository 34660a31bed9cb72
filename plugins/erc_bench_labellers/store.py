"""Persistent label cache and batch-job journal in one SQLite file.

Why SQLite and not the content-addressed ``Cache``: 100k+ tiny entries, looked
up in bulk, written by several processes at once. WAL mode lets readers run
beside a writer; ``busy_timeout`` plus a retry loop absorbs lock contention.
Only definitive outcomes are stored (a label, or ``unparsable``): a transport
failure is retried on the next run, never cached. The batch journal keeps the
provider's batch id as soon as it exists, so an interrupted run resumes polling
that batch instead of paying for a second one. The file is checked when opened
and restored from its backup when damaged (``erc_bench.core.sqlite_guard``);
``lost`` holds the keys of answers such a restore could not bring back.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from erc_bench import LabelOutcome, backup_store, canonical_json, default_cache_dir, guard_store, journal_answers

log = logging.getLogger("erc_bench.labellers")

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    key TEXT PRIMARY KEY, provider TEXT, model TEXT, status TEXT, label TEXT, raw TEXT, detail TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, created REAL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, provider TEXT, scope TEXT, state TEXT, n_requests INTEGER, created REAL);
"""


def default_label_db() -> Path:
    return default_cache_dir() / "labels.sqlite"


def label_key(provider: str, model: str, prompt: str, transcript: str) -> str:
    """Cache key of one request: provider, model, prompt template and transcript (64 hex chars)."""
    payload = canonical_json({"p": provider, "m": model, "t": prompt, "x": transcript})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredLabel:
    outcome: LabelOutcome
    prompt_tokens: int
    completion_tokens: int


class LabelStore:
    """Thread-safe access to the SQLite file (one connection per thread)."""

    def __init__(self, path: str | Path | None = None, busy_retries: int = 20) -> None:
        self.path = Path(path) if path else default_label_db()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._busy_retries = busy_retries
        message, self.lost = guard_store(self.path, "labels")  # raises (one line) if it and its backup are bad
        if message:
            log.warning(message)
        self._retry(lambda conn: conn.executescript(_SCHEMA))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _retry(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run an action, retrying when another process holds the lock past busy_timeout."""
        for attempt in range(self._busy_retries):
            try:
                return action(self._conn())
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))
        return action(self._conn())

    # ------------------------------------------------------------------ labels
    def get_many(self, keys: Iterable[str]) -> dict[str, StoredLabel]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, StoredLabel] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._retry(lambda conn, c=chunk, m=marks: conn.execute(
                f"SELECT key, status, label, raw, detail, prompt_tokens, completion_tokens FROM labels "
                f"WHERE key IN ({m})", c).fetchall())
            for key, status, label, raw, detail, p_tok, c_tok in rows:
                found[key] = StoredLabel(LabelOutcome(label, status, raw or "", detail or ""), p_tok or 0, c_tok or 0)
        return found

    def put_many(self, provider: str, model: str,
                 rows: Iterable[tuple[str, LabelOutcome, int, int]]) -> int:
        """Store definitive outcomes (ok / unparsable); failures are skipped so a rerun retries them."""
        now = time.time()
        values = [(key, provider, model, o.status, o.label, o.raw, o.detail, p, c, now)
                  for key, o, p, c in rows if o.status in ("ok", "unparsable")]
        if values:
            def write(conn: sqlite3.Connection) -> None:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("INSERT OR REPLACE INTO labels VALUES (?,?,?,?,?,?,?,?,?,?)", values)
            self._retry(write)
            journal_answers(self.path, [v[0] for v in values])
        return len(values)

    def backup(self) -> Path | None:
        """A checked copy into ``labels.backup.sqlite`` (after a successful labelling run)."""
        return backup_store(self.path)

    # ----------------------------------------------------------------- batches
    def add_batch(self, batch_id: str, provider: str, scope: str, n_requests: int) -> None:
        self._retry(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO batches VALUES (?,?,?,?,?,?)",
            (batch_id, provider, scope, "open", n_requests, time.time())))

    def open_batches(self, provider: str, scope: str) -> list[str]:
        rows = self._retry(lambda conn: conn.execute(
            "SELECT batch_id FROM batches WHERE provider=? AND scope=? AND state='open' ORDER BY created",
            (provider, scope)).fetchall())
        return [r[0] for r in rows]

    def close_batch(self, batch_id: str, state: str = "done") -> None:
        self._retry(lambda conn: conn.execute("UPDATE batches SET state=? WHERE batch_id=?", (state, batch_id)))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
