"""openSMILE functionals (kind ``speech_encoder``, name ``opensmile``): eGeMAPS v02 or ComParE 2016.

Licence: openSMILE and its Python package ``opensmile`` are audEERING's, under the audEERING research
licence: free for research and education, **not for commercial use** (a commercial licence is sold by
audEERING). erc-bench does not ship it; it is the ``care`` extra (``pip install 'erc-bench[care]'``), and
whoever installs it accepts that licence.

What is the authors' (audEERING, Eyben et al.): the feature sets and their extraction, run unchanged through
``opensmile.Smile`` at the functionals level: eGeMAPS v02 (88 functionals of 25 low-level descriptors; Eyben
et al., IEEE Trans. Affective Computing 2016), the standard compact acoustic baseline of speech emotion
recognition, and ComParE 2016 (6,373 functionals; Schuller et al., Interspeech 2016).

This project's choices:

* one vector ``(D,)`` per clip, float32, frozen (no training), cached by the engine like every encoder's;
* clips shorter than ``MIN_SAMPLES`` (0.25 s) are padded with silence at the end: openSMILE returns NaN for
  segments under about 0.1 s; any value still not finite is set to 0;
* no streaming: a clip is given whole (or cropped / chunked per the corpus's ``max_seconds`` policy by the
  engine); functionals summarise the whole clip;
* the installed ``opensmile`` version is part of the encoder's fingerprint, so upgrading it re-extracts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SAMPLE_RATE, canonical_json, digest_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

MIN_SAMPLES = SAMPLE_RATE // 4
DIMENSIONS = {"eGeMAPSv02": 88, "ComParE_2016": 6373}  # functionals per feature set (documented by audEERING)


class OpenSmileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature_set: Literal["eGeMAPSv02", "ComParE_2016"] = Field(
        "eGeMAPSv02", description="eGeMAPSv02 (88 functionals) or ComParE_2016 (6373 functionals)")


def _opensmile() -> Any:
    from erc_bench import require

    return require("opensmile", "care", "the opensmile speech encoder (audEERING research licence, not for "
                                       "commercial use)")


class OpenSmileEncoder:
    """openSMILE functionals per clip (eGeMAPS v02: 88, ComParE 2016: 6373); audEERING research licence, not for
    commercial use.

    Frozen hand-crafted acoustic features through the ``opensmile`` package (the ``care`` extra:
    ``pip install 'erc-bench[care]'``); installing it means accepting audEERING's licence.
    """

    name: ClassVar[str] = "opensmile"
    Params: ClassVar[type[BaseModel]] = OpenSmileParams

    def __init__(self, params: OpenSmileParams) -> None:
        self.params = params
        self._smile: Any = None

    @property
    def dim(self) -> int:
        return DIMENSIONS[self.params.feature_set]

    def check_ready(self) -> None:
        """Fail at set-up, before any other work, when the opensmile package is missing."""
        _opensmile()

    def fingerprint(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("opensmile")
        except PackageNotFoundError:
            installed = None
        return digest_text(canonical_json({"encoder": self.name, "opensmile": installed,
                                           **self.params.model_dump()}))

    def _extractor(self) -> Any:
        if self._smile is None:
            opensmile = _opensmile()
            self._smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, self.params.feature_set),
                                          feature_level=opensmile.FeatureLevel.Functionals)
        return self._smile

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np

        smile = self._extractor()
        out = []
        for wav in waveforms:
            wav = np.asarray(wav, dtype=np.float32).reshape(-1)
            if wav.size < MIN_SAMPLES:
                wav = np.pad(wav, (0, MIN_SAMPLES - wav.size))
            values = smile.process_signal(wav, SAMPLE_RATE).to_numpy(dtype=np.float32).reshape(-1)
            out.append(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0))
        return out
