"""Registers the built-in speech components (faster-whisper ASR, five frozen speech encoders) and the
``transcribe`` / ``asr-eval`` / ``care-pretrain`` commands and the ``care_pretrain`` spec kind.

Only light modules are imported here (pydantic params, no torch / CTranslate2),
so listing plugins stays fast; weights load on first use.
"""

from __future__ import annotations

from typing import Any

from erc_bench import Register, hookimpl
from erc_bench_speech.acoustic_stats import AcousticStatsEncoder
from erc_bench_speech.asr import FasterWhisperASR
from erc_bench_speech.care import CareEncoder
from erc_bench_speech.hf_ssl import HfSslEncoder
from erc_bench_speech.opensmile_encoder import OpenSmileEncoder
from erc_bench_speech.whisper_encoder import WhisperEncoder


@hookimpl
def erc_bench_register_asr(register: Register) -> None:
    register(FasterWhisperASR)


@hookimpl
def erc_bench_register_speech_encoders(register: Register) -> None:
    for cls in (CareEncoder, HfSslEncoder, WhisperEncoder, AcousticStatsEncoder, OpenSmileEncoder):
        register(cls)


@hookimpl
def erc_bench_register_commands(app: Any) -> None:
    from erc_bench_speech import care_cli, cli

    cli.register(app)
    care_cli.register(app)


@hookimpl
def erc_bench_register_spec_kinds(register: Any) -> None:
    from erc_bench_speech.care_pretrain_spec import CARE_SPEC_KIND

    register(CARE_SPEC_KIND)
