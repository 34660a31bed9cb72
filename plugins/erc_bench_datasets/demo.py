"""The bundled synthetic demo corpus (espeak-ng voices; see ``demo_data/README.md``).

``demo``: 48 two-speaker conversations, 4 classes (angry, happy, sad, neutral), split
by conversation 28 / 10 / 10 into train / validation / test by ``demo_data/manifest.csv``,
with no sentence and no speaker shared between splits (or with the pool)
(column ``cue`` in ``meta`` says where the emotion lives: words, voice, both, none).
``demo-unlabelled``: 160 clips with MSP-Podcast-like valence (1-7) for pre-training.
Loading reads the CSVs only; no audio is decoded. Regenerate the data with
``python scripts/make_demo_corpus.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from erc_bench import DataError, DatasetSplits, NoParams

from .audio_folder import AudioFolderParams, load_audio_folder
from .csv_manifest import load_manifest

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_LABELS = ["angry", "happy", "sad", "neutral"]
_REGENERATE = "regenerate it with 'python scripts/make_demo_corpus.py' (needs espeak-ng)"


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"demo corpus: expected {path} (package data of erc_bench_datasets); {_REGENERATE}")
    return path


class Demo:
    """Labelled synthetic conversations; the default dataset of the quick-start spec."""

    name: ClassVar[str] = "demo"
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        return load_manifest(_require(DEMO_DIR / "manifest.csv"), DEMO_LABELS, self.name)


class DemoUnlabelled:
    """Unlabelled synthetic clips with valence, the demo pre-training corpus."""

    name: ClassVar[str] = "demo-unlabelled"
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        pool = DEMO_DIR / "pool"
        params = AudioFolderParams(root=str(_require(pool / "audio")), metadata=str(_require(pool / "metadata.csv")))
        return load_audio_folder(params, self.name)
