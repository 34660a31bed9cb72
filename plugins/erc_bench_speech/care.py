"""CARE speech encoder (kind ``speech_encoder``, name ``care``): the MERITS-L speech features.

Frozen. ``output = "pooled"`` gives the 768-d mean-pooled semantic embedding (the
paper says only "frozen CARE embeddings" feed Stage I; which output is the project's
reading); ``output = "layers"`` gives 13 x 1536 (per layer, the
mean-pooled semantic-path and acoustic-path features side by side) for
layer-weighted probes. Weights come from a ``care-pretrain`` checkpoint folder,
a ``state_dict`` file (or a hub id + ``checkpoint_file``), the authors' wrapper
state_dict, or (only with ``trust_pickle = true``) a whole module pickled by the
authors' scripts: see ``care_checkpoint`` for each form. Utterances run one at a
time: the network has no padding mask (its front end normalises over time), so
padding would change the embedding. ``crop_rule = "centre"`` centre-crops clips
over ``max_seconds``; ``"authors"`` is the rule of the authors' feature extraction
(``get_wavlm_feats.py``): clips over 20 s give a 5 s crop (random in their code; here
at an offset drawn from the clip's own content, so features are reproducible) and
clips under 0.5 s are zero-padded to 5 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import UserError, canonical_json, digest_file, digest_text, resolve_device
from erc_bench_speech.torch_util import centre_crop

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


class CareParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint: str | None = Field(None, description="care-pretrain folder, state_dict file or hub id")
    checkpoint_file: str = Field("pytorch_model.bin", description="file inside a hub repo")
    revision: str | None = Field(None, description="hub revision (branch, tag or commit) of a hub checkpoint")
    trust_pickle: bool = False
    allow_random_init: bool = Field(False, description="run with random weights (tests, benchmarks only)")
    output: Literal["pooled", "layers"] = "pooled"
    max_seconds: float = Field(20.0, gt=0)
    crop_rule: Literal["centre", "authors"] = "centre"
    normalize_waveform: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    shared_layers: int = Field(6, ge=1)
    wavlm_config: dict[str, Any] = Field(default_factory=dict, description="WavLMConfig overrides (WavLM-base)")
    roberta_config: dict[str, Any] = Field(default_factory=dict, description="RobertaConfig overrides")


class CareEncoder:
    name: ClassVar[str] = "care"
    Params: ClassVar[type[BaseModel]] = CareParams

    def __init__(self, params: CareParams) -> None:
        self.params = params
        self._network: Any = None
        self._device: Any = None
        self.load_notes: list[str] = []
        if params.checkpoint is None and not params.allow_random_init:
            raise UserError("care: set params.checkpoint to the CARE state_dict (or allow_random_init = true "
                            "for plumbing tests; random weights give meaningless features)")

    def fingerprint(self) -> str:
        options = self.params.model_dump(exclude={"device", "revision"})  # the checkpoint digest covers revision
        path = self._checkpoint_path() if self.params.checkpoint else None
        if path is not None and path.is_dir():
            from erc_bench_speech.care_checkpoint import CONFIG_FILE, WEIGHTS_FILE

            options["checkpoint_digest"] = [digest_file(path / WEIGHTS_FILE), digest_file(path / CONFIG_FILE)]
        else:
            options["checkpoint_digest"] = digest_file(path) if path else None
        return digest_text(canonical_json({"encoder": self.name, **options}))

    def _checkpoint_path(self) -> Path:
        ref = self.params.checkpoint
        assert ref is not None
        local = Path(ref).expanduser()
        if local.is_file() or local.is_dir():
            return local
        if ref.count("/") != 1 or ref.startswith((".", "/", "~")):
            raise UserError(f"care: checkpoint {ref} not found (expected a care-pretrain folder, a state_dict file "
                            "or a hub id owner/name)")
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(ref, self.params.checkpoint_file, revision=self.params.revision))
        except Exception as exc:  # noqa: BLE001 - hub errors become one line
            raise UserError(f"care: cannot fetch {self.params.checkpoint_file} from hub repo {ref}: "
                            f"{type(exc).__name__}: {exc}") from None

    @property
    def network(self) -> Any:
        if self._network is None:
            from erc_bench_speech.care_checkpoint import acoustic_dim_of, load_into, read_weights
            from erc_bench_speech.care_model import IGNORED_CHECKPOINT_PREFIXES, CareNetwork

            p = self.params
            shape = {"wavlm_config": p.wavlm_config, "roberta_config": p.roberta_config,
                     "shared_layers": p.shared_layers, "acoustic_dim": 256}
            weights = read_weights(self._checkpoint_path(), p.trust_pickle) if p.checkpoint else None
            if weights is not None and weights.config is not None:
                if p.wavlm_config or p.roberta_config:
                    raise UserError(f"care: {p.checkpoint} carries its own network config; remove "
                                    "wavlm_config / roberta_config from the params")
                shape = {k: weights.config[k] for k in shape}
            elif weights is not None:
                shape["acoustic_dim"] = acoustic_dim_of(weights.state)
            net = CareNetwork(shape["wavlm_config"], shape["roberta_config"], shape["shared_layers"],
                              shape["acoustic_dim"])
            if weights is not None:
                load_into(net, weights.state, IGNORED_CHECKPOINT_PREFIXES)
                self.load_notes = weights.notes
            self._device = resolve_device(p.device)
            self._network = net.to(self._device).eval()
        return self._network

    def _prepare(self, wav: np.ndarray, minimum: int) -> np.ndarray:
        import numpy as np

        from erc_bench import SAMPLE_RATE

        if self.params.crop_rule == "authors":
            clip = 5 * SAMPLE_RATE
            if wav.size > 20 * SAMPLE_RATE:
                offset = int(np.random.default_rng(int(digest_text(wav[:SAMPLE_RATE].tobytes().hex())[:8], 16))
                             .integers(0, wav.size - clip))
                wav = wav[offset:offset + clip]
            elif wav.size < SAMPLE_RATE // 2:
                wav = np.pad(wav, (0, clip - wav.size))
        else:
            wav = centre_crop(wav, self.params.max_seconds)
        if self.params.normalize_waveform:
            wav = (wav - wav.mean()) / (wav.std() + 1e-7)
        return np.pad(wav, (0, minimum - wav.size)) if wav.size < minimum else wav

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np
        import torch

        net = self.network
        out: list[np.ndarray] = []
        minimum = net.min_samples()
        for wav in waveforms:
            wav = self._prepare(np.asarray(wav, dtype=np.float32), minimum)
            result = net(torch.from_numpy(wav).unsqueeze(0).to(self._device))
            if self.params.output == "pooled":
                out.append(result["pooled"][0].float().cpu().numpy())
            else:
                layers = torch.cat((result["semantic_layers"].mean(dim=2), result["acoustic_layers"].mean(dim=2)),
                                   dim=-1)
                out.append(layers[:, 0].float().cpu().numpy())
        return out
