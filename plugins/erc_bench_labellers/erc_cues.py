"""Spoken cues for ``llm-erc`` (``spoken_cues = true``): how each turn was spoken, in words.

In the manner of SpeechCueLLM (Wu et al. 2024: prosody described in natural language inside an LLM's prompt),
each turn with audio gets a short description such as "high pitch with moderate variation, loud, fast",
from the toolkit's own ``acoustic-stats`` speech encoder: mean log-F0 (pitch), its standard deviation
(variation), mean log energy (loudness) and words per second of audio (rate). Each measure is called low /
medium / high against the terciles of the training split's turns (a speaker-independent scale set on train
only, never on the turns being labelled). A turn without audio, or whose audio cannot be read, is described
as having none; a corpus with no audio at all turns the cues off with one warning. Measures are kept in
``cues.json`` in the system's cache folder, so a rerun decodes nothing again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from erc_bench import Utterance, build, load_audio

log = logging.getLogger("erc_bench.llm_erc")

# where the measures sit in an acoustic-stats vector (default params: 40 mel bands, 13 MFCCs; 5 stats each)
_TRACKS = 40 + 13
_ENERGY_MEAN = 5 * _TRACKS
_F0_MEAN = 5 * (_TRACKS + 2)
_F0_STD = _F0_MEAN + 1
_VOICED = _F0_MEAN + 5
MEASURES = ("pitch", "variation", "loudness", "rate")
_WORDS = {"pitch": ("low pitch", "medium pitch", "high pitch"),
          "variation": ("little variation", "moderate variation", "much variation"),
          "loudness": ("quiet", "moderate volume", "loud"),
          "rate": ("slow", "moderate pace", "fast")}

Measures = list[float] | None  # pitch (log Hz), variation, loudness (log energy), rate (words/s); None: no pitch


def _audio_key(u: Utterance) -> str | None:
    return None if u.audio is None else f"{u.audio.path}|{u.audio.start}|{u.audio.end}"


class CueMeter:
    """Measures turns (cached in ``<folder>/cues.json``) and words them against train terciles."""

    def __init__(self, folder: str) -> None:
        self.path = Path(folder) / "cues.json"
        self.known: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self._encoder: Any = None
        self.unreadable = 0

    def _measure_one(self, u: Utterance) -> Any:
        import numpy as np

        if self._encoder is None:
            self._encoder = build("speech_encoder", "acoustic-stats", {})
        assert u.audio is not None
        try:
            wav = load_audio(u.audio)
        except Exception as exc:  # noqa: BLE001 - any unreadable clip is described as without audio
            log.warning("llm-erc: no spoken cues for %s: %s", u.id, str(exc)[:200])
            self.unreadable += 1
            return "unreadable"
        vector = np.asarray(self._encoder.encode([wav])[0], dtype=np.float64)
        seconds = max(len(wav) / 16_000, 1e-3)
        rate = len(u.text.split()) / seconds
        voiced = vector[_VOICED] > 0
        return [float(vector[_F0_MEAN]) if voiced else None, float(vector[_F0_STD]) if voiced else None,
                float(vector[_ENERGY_MEAN]), rate]

    def measure(self, utterances: Sequence[Utterance]) -> dict[str, Any]:
        """Utterance id -> measures, or None (no audio / unreadable); new clips are decoded once and saved."""
        out: dict[str, Any] = {}
        added = False
        for u in utterances:
            key = _audio_key(u)
            if key is None:
                out[u.id] = None
                continue
            if key not in self.known:
                self.known[key] = self._measure_one(u)
                added = True
            value = self.known[key]
            out[u.id] = value if isinstance(value, list) else None
        if added:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.known))
            os.replace(tmp, self.path)
        return out


def terciles(measured: Sequence[Any]) -> dict[str, list[float]]:
    """Per measure, the 1/3 and 2/3 quantiles over the turns that have it (empty list: none has it)."""
    import numpy as np

    scale: dict[str, list[float]] = {}
    for i, name in enumerate(MEASURES):
        values = [m[i] for m in measured if m is not None and m[i] is not None]
        scale[name] = [float(v) for v in np.quantile(values, [1 / 3, 2 / 3])] if values else []
    return scale


def describe(measures: Any, scale: dict[str, list[float]]) -> str:
    """``"high pitch with moderate variation, loud, fast"``; ``"no audio"`` for a turn without measures."""
    from erc_bench_labellers.erc_prompts import NO_AUDIO

    if measures is None:
        return NO_AUDIO

    def word(name: str) -> str | None:
        value, bounds = measures[MEASURES.index(name)], scale.get(name) or []
        if value is None or not bounds:
            return None
        return _WORDS[name][0 if value < bounds[0] else 1 if value <= bounds[1] else 2]

    pitch, variation = word("pitch"), word("variation")
    parts = [f"{pitch} with {variation}" if pitch and variation else pitch or "no clear pitch"]
    parts += [w for w in (word("loudness"), word("rate")) if w]
    return ", ".join(parts)
