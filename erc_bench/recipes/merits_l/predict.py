"""The stage networks of a trained system, rebuilt from their cached weights, run forward on new data.

Each network is built from the build card its trainer saved, by the function
that trainer used (``networks.build_network``), loaded with the selected weights, and run in eval mode through the same
batching code (``run_batch``, ``_sequence_collate``), so a training utterance
fed to ``predict`` gets the label the run logged for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from erc_bench.core.cache import Cache
from erc_bench.core.devices import resolve_device
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import Conversation, Utterance
from erc_bench.core.plugin_host import build
from erc_bench.core.spec import Spec
from erc_bench.train.loop import Batch, run_batch
from erc_bench.train.stage_result import StageResult

_FINAL_ORDER = ("stage3-fusion", "joint-fusion", "stage2-text", "stage2-speech", "stage1-text", "stage1-speech")
_BATCH = 16


@dataclass
class Outputs:
    logits: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # stage -> utterance id -> logits
    features: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def final_stage(self) -> str:
        return next(s for s in _FINAL_ORDER if s in self.logits)

    def probabilities(self, utterance_id: str) -> list[float]:
        logits = torch.from_numpy(self.logits[self.final_stage][utterance_id]).float()
        return torch.softmax(logits, dim=-1).tolist()


class SystemRunner:
    """One trained (dataset, seed) system: its components from the spec, its weights from the cache."""

    def __init__(self, spec: Spec, manifest: dict[str, Any], cache: Cache, progress: Any = None) -> None:
        self.spec, self.manifest, self.cache, self.progress = spec, manifest, cache, progress
        self.labels: list[str] = manifest["labels"]
        self.device = resolve_device(spec.benchmark.device)

    # ---------------------------------------------------------------- inputs
    def texts(self, utterances: Sequence[Utterance]) -> dict[str, str]:
        """Reference text, or the system's ASR where it was trained on transcripts or no text was given."""
        from erc_bench.features.speech import transcribe_utterances

        if "text" not in self.spec.model.modalities:
            return {}
        from_asr = self.manifest["text_source"] == "asr"
        texts = {u.id: u.text for u in utterances if u.text and not (from_asr and u.audio is not None)}
        needs_asr = [u for u in utterances if u.id not in texts and u.audio is not None]
        if needs_asr:
            ref = self.spec.model.asr or (self.spec.pretrain.asr if self.spec.pretrain else None)
            if ref is None:
                raise UserError(f"{len(needs_asr)} utterances have audio but no text, and this system has no ASR "
                                "component; give a text column")
            asr = build("asr", ref.plugin, ref.params)
            transcripts, _problems = transcribe_utterances(asr, needs_asr, self.cache, self.progress)
            texts |= {uid: t.text for uid, t in transcripts.items()}
        return texts

    def speech(self, utterances: Sequence[Utterance]) -> dict[str, Any]:
        from erc_bench.features.speech import embed_utterances

        if "speech" not in self.spec.model.modalities:
            return {}
        with_audio = [u for u in utterances if u.audio is not None]
        ref = self.spec.model.speech_encoder
        assert ref is not None
        embeddings, _problems = embed_utterances(build("speech_encoder", ref.plugin, ref.params), with_audio,
                                                 self.cache, self.progress)
        return embeddings

    # ---------------------------------------------------------------- stages
    def _stage(self, stage: str) -> Any:
        """The stage's network, built from its card by the function training used, with its selected weights."""
        from erc_bench.recipes.merits_l.networks import build_network

        key = self.manifest["stages"].get(stage)
        result = StageResult.from_cache(self.cache, key) if key else None
        if result is None:
            raise UserError(f"the weights of {stage} are not in the cache {self.cache.root}; run predict with the "
                            "--cache-dir the benchmark used, or re-run the benchmark")
        model = build_network(result.card)
        model.load_state_dict(result.state_dict)
        return model

    def run(self, conversations: list[Conversation], texts: dict[str, str], speech: dict[str, Any]) -> Outputs:
        out = Outputs()
        if "stage1-text" in self.manifest["stages"]:
            self._stage1_text(conversations, texts, out)
        if "stage1-speech" in self.manifest["stages"]:
            self._stage1_speech(conversations, speech, out)
        joint = "joint-fusion" in self.manifest["stages"]
        for modality in ("text", "speech"):
            if not joint and f"stage2-{modality}" in self.manifest["stages"]:
                self._stage2(modality, conversations, out)
        if joint or "stage3-fusion" in self.manifest["stages"]:
            self._fusion(conversations, out, joint)
        return out

    def _stage1_text(self, conversations: list[Conversation], texts: dict[str, str], out: Outputs) -> None:
        model = self._stage("stage1-text")
        ids = [u.id for c in conversations for u in c.utterances if u.id in texts]
        batches = [Batch(ids=ids[i:i + _BATCH], gold=torch.zeros(0), inputs=([texts[u] for u in ids[i:i + _BATCH]],))
                   for i in range(0, len(ids), _BATCH)]
        self._forward("stage1-text", model, batches, out)

    def _stage1_speech(self, conversations: list[Conversation], speech: dict[str, Any], out: Outputs) -> None:
        model = self._stage("stage1-speech")
        ids = [u.id for c in conversations for u in c.utterances if u.id in speech]
        batches = [Batch(ids=ids[i:i + _BATCH], gold=torch.zeros(0),
                         inputs=(torch.from_numpy(np.stack([np.asarray(speech[u], dtype=np.float32)
                                                            for u in ids[i:i + _BATCH]])).to(self.device),))
                   for i in range(0, len(ids), _BATCH)]
        self._forward("stage1-speech", model, batches, out)

    def _stage2(self, modality: str, conversations: list[Conversation], out: Outputs) -> None:
        table = out.features[f"stage1-{modality}"]
        model = self._stage(f"stage2-{modality}")
        self._forward(f"stage2-{modality}", model, self._sequences(conversations, {modality: table}), out)

    def _fusion(self, conversations: list[Conversation], out: Outputs, joint: bool) -> None:
        level, stage = ("stage1", "joint-fusion") if joint else ("stage2", "stage3-fusion")
        text, speech = out.features[f"{level}-text"], out.features[f"{level}-speech"]
        model = self._stage(stage)
        self._forward(stage, model, self._sequences(conversations, {"text": text, "speech": speech}), out)

    def _sequences(self, conversations: list[Conversation], tables: dict[str, dict[str, np.ndarray]]) -> list[Batch]:
        """Whole conversations (utterances that have every feature, in order) as padded ``ConversationBatch``es,
        through the collate training used."""
        from erc_bench.train.conversations import conversation_collate, roles

        collate = conversation_collate(tables, roles(conversations), self.device)
        items = [[(u.id, 0) for u in sorted(c.utterances, key=lambda u: u.position)
                  if all(u.id in t for t in tables.values())] for c in conversations]
        items = [conversation for conversation in items if conversation]
        return [collate(items[i:i + _BATCH]) for i in range(0, len(items), _BATCH)]

    def _forward(self, stage: str, model: torch.nn.Module, batches: list[Batch], out: Outputs) -> None:
        model.to(self.device).eval()
        logits, features = out.logits.setdefault(stage, {}), out.features.setdefault(stage, {})
        with torch.no_grad():
            for batch in batches:
                batch_logits, batch_features = run_batch(model, batch)
                for n, uid in enumerate(batch.ids):
                    logits[uid] = batch_logits[n].float().cpu().numpy()
                    features[uid] = batch_features[n].float().cpu().numpy()



def predict_staged(manifest: dict[str, Any], conversations: list[Conversation], cache: Cache,
                   progress: Any = None) -> list[Any]:
    """``erc-bench predict`` for a MERITS-L run: every stage rebuilt and its selected weights loaded."""
    from erc_bench.runs.predict import Prediction

    runner = SystemRunner(Spec(**manifest["spec"]), manifest, cache, progress)
    utterances = [u for c in conversations for u in c.utterances]
    texts = runner.texts(utterances)
    speech = runner.speech(utterances)
    outputs = runner.run(conversations, texts, speech)
    labels = manifest["labels"]
    final = outputs.final_stage
    return [Prediction(u, texts.get(u.id), {s: labels[int(p[u.id].argmax())] for s, p in outputs.logits.items()
                                            if u.id in p}, final,
                       outputs.probabilities(u.id)) for u in utterances if u.id in outputs.logits[final]]
