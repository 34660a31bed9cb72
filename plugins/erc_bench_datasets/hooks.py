"""Registers the built-in datasets (erc-bench data list shows them with their cards)."""

from __future__ import annotations

from erc_bench import Register, hookimpl
from erc_bench_datasets.audio_folder import AudioFolder
from erc_bench_datasets.csv_manifest import CsvManifest
from erc_bench_datasets.dailydialog import DailyDialog
from erc_bench_datasets.demo import Demo, DemoUnlabelled
from erc_bench_datasets.emorynlp import EmoryNlp
from erc_bench_datasets.hf_dataset import HfDataset
from erc_bench_datasets.iemocap import Iemocap
from erc_bench_datasets.meld import Meld
from erc_bench_datasets.mosei import Mosei
from erc_bench_datasets.mosi import Mosi
from erc_bench_datasets.msp_podcast import MspPodcast
from erc_bench_datasets.speech_emotion import CremaD, EmoDb, Ravdess


@hookimpl
def erc_bench_register_datasets(register: Register) -> None:
    for cls in (Iemocap, Meld, Mosi, Mosei, CsvManifest, AudioFolder, Demo, DemoUnlabelled, EmoryNlp, DailyDialog,
                EmoDb, Ravdess, CremaD, MspPodcast, HfDataset):
        register(cls)
