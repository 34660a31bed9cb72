"""Registers the built-in datasets: iemocap, meld, mosi, csv, audio-folder, demo, demo-unlabelled."""

from __future__ import annotations

from erc_bench import Register, hookimpl
from erc_bench_datasets.audio_folder import AudioFolder
from erc_bench_datasets.csv_manifest import CsvManifest
from erc_bench_datasets.demo import Demo, DemoUnlabelled
from erc_bench_datasets.iemocap import Iemocap
from erc_bench_datasets.meld import Meld
from erc_bench_datasets.mosi import Mosi


@hookimpl
def erc_bench_register_datasets(register: Register) -> None:
    for cls in (Iemocap, Meld, Mosi, CsvManifest, AudioFolder, Demo, DemoUnlabelled):
        register(cls)
