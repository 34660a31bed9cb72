"""Protection for SQLite stores that hold paid work (the LLM label store): check, back up, recover.

The label store is the one cache entry that cannot be recomputed for free: every
row is a paid answer. So it is treated like a database, not like a cache file:
``PRAGMA quick_check`` when it is opened; after each successful labelling run a
consistent copy is taken with SQLite's online backup API (safe while other
processes write) and rotated into ``<stem>.backup.sqlite`` only once that copy
passes its own check; a damaged store is moved to ``quarantine/`` and restored
from that backup with a one-line message, and when both are bad the run stops
with one line naming both files rather than silently asking (and paying for)
every question again. ``<stem>.keys`` journals the key of every stored answer,
so the questions a restore lost can be recognised and counted when they are
asked again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from erc_bench.core.errors import UserError

QUARANTINE = "quarantine"


class StoreDamaged(UserError):
    """A store and its backup are both unusable: one line naming both files."""


def backup_path(path: Path) -> Path:
    """``labels.sqlite`` -> ``labels.backup.sqlite`` (its own namespace in ``cache du``)."""
    return path.with_name(f"{path.stem}.backup{path.suffix}")


def journal_path(path: Path) -> Path:
    """``labels.sqlite`` -> ``labels.keys`` (one stored answer's key per line)."""
    return path.with_name(f"{path.stem}.keys")


def check_sqlite(path: Path) -> str | None:
    """Why ``path`` is not a usable SQLite database, or None. A 0-byte file counts as damaged: a store this
    toolkit created always holds its schema, so an empty file means its content was lost."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        return "0 bytes (its content was lost)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a readable SQLite database ({exc})"
    if rows != [("ok",)]:
        return f"integrity check failed ({'; '.join(str(r[0]) for r in rows[:3])})"
    return None


def count_rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - our table name
    except sqlite3.DatabaseError:
        return 0
    finally:
        conn.close()


def guard_store(path: Path, table: str) -> tuple[str | None, set[str]]:
    """Check the store at ``path`` before it is opened; restore it from its backup when damaged.

    Returns (one-line message or None, keys of answers the restore lost). Raises ``StoreDamaged`` when the
    store is damaged and its backup is missing or damaged too. A missing store is simply new (``cache clear``
    removes it on purpose)."""
    if not path.exists():
        return None, set()
    backup = backup_path(path)
    for attempt in range(3):  # another process may be creating it this instant: look again before judging
        why = check_sqlite(path)
        if why is None or (why.startswith("0 bytes") and not journal_path(path).exists()
                           and not backup.exists()):  # being created, or killed while created: nothing stored
            journal_path(path).touch()  # from now on a lost store is recognised (older versions' stores too)
            return None, set()
        if why == "missing":
            return None, set()
        time.sleep(0.2 * (attempt + 1))
    backup_why = check_sqlite(backup)
    if backup_why is not None:
        raise StoreDamaged(
            f"label store {path} is damaged ({why}) and its backup {backup} is {backup_why}: the paid answers "
            f"cannot be read; move {path.name} aside to start an empty store (every question is then asked, and "
            "paid for, again)")
    quarantined = _quarantine(path)
    tmp = path.with_name(f".tmp-restore-{os.getpid()}-{path.name}")
    _copy_database(backup, tmp)
    os.replace(tmp, path)
    restored = count_rows(path, table)
    lost = journal_keys(path) - stored_keys(path, table)
    taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
    message = (f"label store {path} was damaged ({why}); moved to {quarantined}, restored from its backup "
               f"{backup.name} of {taken} ({restored} answers); {len(lost)} answers stored after that backup are "
               "lost and will be asked again (counted as re-asked)")
    return message, lost


def backup_store(path: Path) -> Path | None:
    """Rotate a fresh, checked copy of the store into its backup (after a successful labelling run).
    A store that fails its check is never copied over a good backup."""
    if check_sqlite(path) is not None:
        return None
    backup = backup_path(path)
    tmp = path.with_name(f".tmp-backup-{os.getpid()}-{path.name}")
    try:
        _copy_database(path, tmp)
        if check_sqlite(tmp) is not None:
            return None
        os.replace(tmp, backup)
    finally:
        tmp.unlink(missing_ok=True)
    return backup


def journal_answers(path: Path, keys: Iterable[str]) -> None:
    """Append stored answers' keys (one line each; appends of a few lines are atomic on local disks)."""
    lines = "".join(f"{k}\n" for k in keys)
    if lines:
        with journal_path(path).open("a", encoding="ascii") as fh:
            fh.write(lines)


def journal_keys(path: Path) -> set[str]:
    try:
        text = journal_path(path).read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return set()
    return {line for line in text.splitlines() if len(line) == 64}


def stored_keys(path: Path, table: str) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0] for row in conn.execute(f"SELECT key FROM {table}")}  # noqa: S608 - our table name
    except sqlite3.DatabaseError:
        return set()
    finally:
        conn.close()


def check_label_stores(root: Path, repair: bool = False) -> list[str]:
    """``cache verify``: one line per damaged ``*.sqlite`` store at the cache root (backups included);
    ``repair`` restores a damaged store from its backup (``StoreDamaged`` is reported, not raised)."""
    lines: list[str] = []
    if not root.is_dir():
        return lines
    for path in sorted(root.glob("*.sqlite")):
        why = check_sqlite(path)
        if why is None:
            continue
        if path.stem.endswith(".backup"):
            lines.append(f"{path}: backup {why}; the next successful labelling run replaces it")
            continue
        if not repair:
            lines.append(f"{path}: {why}; --repair restores it from {backup_path(path).name}")
            continue
        try:
            message, _lost = guard_store(path, "labels")
            lines.append(f"{path}: {why}; {message}")
        except StoreDamaged as exc:
            lines.append(str(exc))
    return lines


def _copy_database(source: Path, dest: Path) -> None:
    """A consistent copy through SQLite's online backup API (other processes may be writing)."""
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _quarantine(path: Path) -> Path:
    folder = path.parent / QUARANTINE
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}"
    shutil.move(str(path), dest)
    for sidecar in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + sidecar)
        if side.exists():
            shutil.move(str(side), dest.with_name(dest.name + sidecar))
    return dest
