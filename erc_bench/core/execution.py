"""The ``[execution]`` spec section: where the heavy per-utterance work runs.

``engine = "local"`` (the default) computes transcripts and speech embeddings in
this process. ``engine = "ray"`` sends them to a Ray cluster as Ray Data
pipelines (``erc_bench.features.ray_pipeline``); the driver still writes every result into
the same content-addressed cache under the same keys, so the two engines are
interchangeable and a run started on one resumes on the other.

This module is only the validated settings (pydantic, no Ray import), so a spec
can be checked on a machine without Ray installed.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[A-Za-z0-9_.\-\[\]:]+:\d+)$")


class StepExecution(BaseModel):
    """How one step (ASR or speech embeddings) is spread over a Ray cluster."""

    model_config = ConfigDict(extra="forbid")

    actors: int = Field(2, ge=1, description="model replicas; each loads its model once and serves many batches")
    cpus_per_actor: float = Field(1.0, gt=0, description="CPUs Ray reserves per actor; also its thread count")
    gpus_per_actor: float = Field(0.0, ge=0, description="GPUs per actor (0.5 puts two actors on one GPU)")
    max_retries: int = Field(3, ge=0, description="restarts of an actor that died, and retries of the batch it "
                                                  "held; a batch's results reach the cache once")


class ExecutionSection(BaseModel):
    """``[execution]``: engine and per-step resources (only read when ``engine = "ray"``)."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["local", "ray"] = "local"
    address: str = Field("auto", description="auto: the running cluster (RAY_ADDRESS or `ray start`), else a "
                                             "one-machine Ray started for this run; local: always the latter; "
                                             "ray://host:10001 (Ray Client) or host:6379 (from a cluster node)")
    asr: StepExecution = Field(default_factory=StepExecution)
    speech_embeddings: StepExecution = Field(default_factory=StepExecution)

    @field_validator("address")
    @classmethod
    def _known_address(cls, value: str) -> str:
        if not _ADDRESS.match(value.strip()):
            raise ValueError("expected 'auto', 'local', 'ray://host:port' or 'host:port'")
        return value.strip()

    def step(self, kind: str) -> StepExecution:
        """The settings for a component kind's step: ``asr`` for ASR, ``speech_embeddings`` for speech encoders."""
        return self.asr if kind == "asr" else self.speech_embeddings
