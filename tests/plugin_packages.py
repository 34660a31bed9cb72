"""Third-party plugin packages written by a test and installed the way ``pip install -e`` lays them out.

``install_plugin`` writes the package's source folder and, in a separate site folder, its ``.dist-info``
(METADATA, the ``erc_bench`` entry point, PEP 610's ``direct_url.json`` saying "installed from this folder,
editable"), then puts both on ``PYTHONPATH`` for the subprocesses the test starts. That is what erc-bench sees
of an editable install (a distribution whose code lives in a working tree), without a pip run per variant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class InstalledPlugin:
    dist: str
    module: str
    source: Path  # the package folder (edit its files to change the plugin's code)
    pythonpath: str

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.pythonpath, env.get("PYTHONPATH", "")) if p)
        env["COLUMNS"] = "200"
        env.update(extra)
        return env


def install_plugin(base: Path, dist: str, files: dict[str, str], entry_point: str | None = None) -> InstalledPlugin:
    """``files``: path inside the package folder -> Python source (dedented)."""
    module = dist.replace("-", "_")
    src, site = base / f"{dist}-src", base / f"{dist}-site"
    for name, body in files.items():
        path = src / module / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    info = site / f"{module}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[erc_bench]\n{dist} = {entry_point or module}\n")
    (info / "top_level.txt").write_text(f"{module}\n")
    (info / "RECORD").write_text("")
    (info / "direct_url.json").write_text(json.dumps({"url": (src / module).as_uri(), "dir_info": {"editable": True}}))
    return InstalledPlugin(dist, module, src / module, os.pathsep.join([str(site), str(src)]))


def erc_bench(args: list[str], plugin: InstalledPlugin | None, cwd: Path, timeout: int = 300
              ) -> subprocess.CompletedProcess[str]:
    """The real ``erc-bench`` command in a subprocess that sees the plugin."""
    env = plugin.env() if plugin else {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "erc_bench.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


FUSION_HEAD = '''
from typing import ClassVar
from pydantic import BaseModel, ConfigDict
from erc_bench import hookimpl


class TensorFusion:
    """Outer product of both modalities, flattened, then a classifier (a tensor-fusion head)."""

    name: ClassVar[str] = "tensor-fusion"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = 8

    def __init__(self, params):
        {init}
        self.params = params

    def build(self, dims, num_labels):
        import torch
        from torch import nn

        hidden = self.params.hidden

        class Module(nn.Module):
            def __init__(self):
                super().__init__()
                self.text, self.speech = nn.Linear(dims["text"], hidden), nn.Linear(dims["speech"], hidden)
                self.out = nn.Linear(hidden * hidden, {out_width})

            def forward(self, batch):
                text, speech = batch.features["text"], batch.features["speech"]
                t, s = torch.tanh(self.text(text)), torch.tanh(self.speech(speech))
                fused = (t.unsqueeze(-1) * s.unsqueeze(-2)).flatten(-2)
                return {returned}

        return Module()


@hookimpl
def erc_bench_register_fusion_heads(register):
    register(TensorFusion)
'''


def fusion_head_source(init: str = "pass", out_width: str = "num_labels", returned: str = "self.out(fused)") -> str:
    return FUSION_HEAD.replace("{init}", init).replace("{out_width}", out_width).replace("{returned}", returned)
