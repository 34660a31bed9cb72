"""CARE speech encoder (kind ``speech_encoder``, name ``care``): the MERITS-L speech features.

Frozen. ``output = "pooled"`` gives the 768-d mean-pooled semantic embedding the
paper feeds to Stage I; ``output = "layers"`` gives 13 x 1536 (per layer, the
mean-pooled semantic-path and acoustic-path features side by side) for
layer-weighted probes. Weights come from a ``state_dict`` (file path, or a hub
id + ``checkpoint_file``). A pickled whole module can run arbitrary code when
loaded, so it is refused unless ``trust_pickle = true``. Utterances run one at a
time: the network has no padding mask (its front end normalises over time), so
padding would change the embedding; clips over ``max_seconds`` are centre-cropped.
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

    checkpoint: str | None = Field(None, description="state_dict file (.pt/.bin/.safetensors) or hub id")
    checkpoint_file: str = Field("pytorch_model.bin", description="file inside a hub repo")
    trust_pickle: bool = False
    allow_random_init: bool = Field(False, description="run with random weights (tests, benchmarks only)")
    output: Literal["pooled", "layers"] = "pooled"
    max_seconds: float = Field(20.0, gt=0)
    normalize_waveform: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    shared_layers: int = Field(6, ge=1)
    wavlm_config: dict[str, Any] = Field(default_factory=dict, description="WavLMConfig overrides (WavLM-base)")
    roberta_config: dict[str, Any] = Field(default_factory=dict, description="RobertaConfig overrides")


def _unwrap_state_dict(obj: Any) -> dict[str, Any]:
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise UserError(f"CARE checkpoint holds a {type(obj).__name__}, not a state_dict")
    return {k.removeprefix("module."): v for k, v in obj.items()}


class CareEncoder:
    name: ClassVar[str] = "care"
    Params: ClassVar[type[BaseModel]] = CareParams

    def __init__(self, params: CareParams) -> None:
        self.params = params
        self._network: Any = None
        self._device: Any = None
        if params.checkpoint is None and not params.allow_random_init:
            raise UserError("care: set params.checkpoint to the CARE state_dict (or allow_random_init = true "
                            "for plumbing tests; random weights give meaningless features)")

    def fingerprint(self) -> str:
        options = self.params.model_dump(exclude={"device"})
        path = self._checkpoint_path() if self.params.checkpoint else None
        options["checkpoint_digest"] = digest_file(path) if path else None
        return digest_text(canonical_json({"encoder": self.name, **options}))

    def _checkpoint_path(self) -> Path:
        ref = self.params.checkpoint
        assert ref is not None
        local = Path(ref).expanduser()
        if local.is_file():
            return local
        if local.exists() or ref.count("/") != 1:
            raise UserError(f"care: checkpoint {ref} not found (expected a state_dict file or a hub id owner/name)")
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(ref, self.params.checkpoint_file))
        except Exception as exc:  # noqa: BLE001 - hub errors become one line
            raise UserError(f"care: cannot fetch {self.params.checkpoint_file} from hub repo {ref}: "
                            f"{type(exc).__name__}: {exc}") from None

    def load_state_dict_file(self, path: Path) -> dict[str, Any]:
        import pickle

        import torch

        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        try:
            return _unwrap_state_dict(torch.load(str(path), map_location="cpu", weights_only=True))
        except pickle.UnpicklingError:
            if not self.params.trust_pickle:
                raise UserError(f"care: {path} is not a plain state_dict (it holds pickled objects, e.g. a whole "
                                "module); loading it could run code. Save model.state_dict() instead, or set "
                                "trust_pickle = true if you trust the file") from None
        except Exception as exc:  # noqa: BLE001 - a corrupt file is the user's to fix
            raise UserError(f"care: cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
        return _unwrap_state_dict(torch.load(str(path), map_location="cpu", weights_only=False))

    @property
    def network(self) -> Any:
        if self._network is None:
            from erc_bench_speech.care_model import IGNORED_CHECKPOINT_PREFIXES, CareNetwork

            p = self.params
            net = CareNetwork(p.wavlm_config, p.roberta_config, p.shared_layers)
            if p.checkpoint:
                state = {k: v for k, v in self.load_state_dict_file(self._checkpoint_path()).items()
                         if not k.startswith(IGNORED_CHECKPOINT_PREFIXES)}
                result = net.load_state_dict(state, strict=False)
                if result.missing_keys or result.unexpected_keys:
                    raise UserError(f"care: checkpoint does not match the CARE network: missing "
                                    f"{result.missing_keys[:4]}, unexpected {result.unexpected_keys[:4]}")
            self._device = resolve_device(p.device)
            self._network = net.to(self._device).eval()
        return self._network

    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        import numpy as np
        import torch

        net = self.network
        out: list[np.ndarray] = []
        minimum = net.min_samples()
        for wav in waveforms:
            wav = centre_crop(np.asarray(wav, dtype=np.float32), self.params.max_seconds)
            if self.params.normalize_waveform:
                wav = (wav - wav.mean()) / (wav.std() + 1e-7)
            if wav.size < minimum:
                wav = np.pad(wav, (0, minimum - wav.size))
            result = net(torch.from_numpy(wav).unsqueeze(0).to(self._device))
            if self.params.output == "pooled":
                out.append(result["pooled"][0].float().cpu().numpy())
            else:
                layers = torch.cat((result["semantic_layers"].mean(dim=2), result["acoustic_layers"].mean(dim=2)),
                                   dim=-1)
                out.append(layers[:, 0].float().cpu().numpy())
        return out
