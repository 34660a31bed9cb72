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

from erc_bench import DataError, DatasetCard, DatasetSplits, NoParams, SplitCount

from .audio_folder import AudioFolderParams, load_audio_folder
from .csv_manifest import load_manifest

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_LABELS = ["angry", "happy", "sad", "neutral"]
_REGENERATE = "regenerate it with 'python scripts/make_demo_corpus.py' (needs espeak-ng)"
_DEMO_CITATION = """@misc{ercbench_demo,
  title = {erc-bench demo corpus: synthetic two-speaker conversations (espeak-ng)},
  note  = {bundled with erc-bench; plugins/erc_bench_datasets/demo_data/README.md},
  year  = {2026}
}"""
DEMO_CARD = DatasetCard(
    title="erc-bench demo corpus (synthetic)",
    citation=_DEMO_CITATION,
    licence="same as erc-bench (sentences written for the project, espeak-ng voices)",
    obtain=("bundled with erc-bench (package data of erc_bench_datasets)", _REGENERATE),
    layout=("demo_data/manifest.csv", "demo_data/audio/<conversation>/<utterance>.wav"),
    splits="by conversation, speaker-independent, no sentence shared: 28 / 10 / 10 conversations",
    counts=(SplitCount("train", 294, 28), SplitCount("validation", 100, 10), SplitCount("test", 106, 10)),
    label_map=tuple((label, label) for label in DEMO_LABELS),
    tasks=("emotion, 4 classes",),
    modalities=("text", "speech"),
    notes=("500 utterances in all; numbers on it say nothing about real emotional speech",),
)
POOL_CARD = DatasetCard(
    title="erc-bench demo pre-training pool (synthetic)",
    citation=_DEMO_CITATION,
    licence="same as erc-bench",
    obtain=("bundled with erc-bench (package data of erc_bench_datasets)", _REGENERATE),
    layout=("demo_data/pool/audio/<clip>.wav", "demo_data/pool/metadata.csv (FileName, EmoVal, Transcript)"),
    splits="everything is train (pre-training splits 80/20 itself)",
    counts=(SplitCount("train", 160, 160),),
    label_map=(("EmoVal 1-7", "valence in meta (MSP-Podcast-like)"),),
    tasks=("pre-training pool (unlabelled, with valence)",),
    modalities=("speech",),
)


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"demo corpus: expected {path} (package data of erc_bench_datasets); {_REGENERATE}")
    return path


class Demo:
    """Labelled synthetic conversations; the default dataset of the quick-start spec."""

    name: ClassVar[str] = "demo"
    card: ClassVar[DatasetCard] = DEMO_CARD
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        return load_manifest(_require(DEMO_DIR / "manifest.csv"), DEMO_LABELS, self.name)


class DemoUnlabelled:
    """Unlabelled synthetic clips with valence, the demo pre-training corpus."""

    name: ClassVar[str] = "demo-unlabelled"
    card: ClassVar[DatasetCard] = POOL_CARD
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: NoParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        pool = DEMO_DIR / "pool"
        params = AudioFolderParams(root=str(_require(pool / "audio")), metadata=str(_require(pool / "metadata.csv")))
        return load_audio_folder(params, self.name)
