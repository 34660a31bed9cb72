"""An example third-party erc-bench plugin.

It registers, through the same ``erc_bench`` entry-point group as the
built-ins, a labeller (``example-keyword``: silver labels from word lists), a
speaker-aware context model (``example-speaker-gru``: a GRU over the
conversation that knows who is speaking), a fusion head (``example-gated``: a
learned per-utterance gate between text and speech) and a whole system
(``example-speaker-majority``: each speaker's most frequent training label). Its names carry the
package's prefix so that they never clash with the built-ins or with an
author's own ``keyword`` labeller. None defines a ``fingerprint()``: erc-bench
identifies a component by its plugin name, params, package version and (for a
working-tree install) its sources' digest. Its tests use erc-bench's pytest
fixtures (``tests/``; ``docs/plugins.md``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from erc_bench import LabelOutcome, hookimpl


class KeywordLabeller:
    """Labels a transcript by counting positive and negative keywords."""

    name = "example-keyword"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        positive: list[str] = ["good", "great", "love", "happy", "wonderful", "thanks"]
        negative: list[str] = ["bad", "hate", "awful", "sad", "angry", "terrible"]

    def __init__(self, params: Params) -> None:
        self.params = params

    def label(self, texts: list[str]) -> list[LabelOutcome]:
        out = []
        for text in texts:
            words = text.lower().split()
            score = sum(w.strip(".,!?") in self.params.positive for w in words) - sum(
                w.strip(".,!?") in self.params.negative for w in words)
            label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
            out.append(LabelOutcome(label=label, raw=text))
        return out


class SpeakerGRU:
    """A forward GRU over the conversation whose input is each utterance plus an embedding of its speaker.

    It reads ``batch.speakers`` (each conversation's speakers numbered in order of first turn, -1 unknown), so
    the same words said by the other party give other features. A forward GRU never sees later positions, so
    padding at the end of a conversation cannot change an earlier output.
    """

    name = "example-speaker-gru"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = 32
        max_speakers: int = 9  # speakers beyond this share the last embedding

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:  # the leaderboard's "speaker id" column says so
        return True

    def build(self, input_dim: int, num_labels: int):  # noqa: ANN201 - torch imported lazily
        import torch
        from torch import nn

        p = self.params

        class _SpeakerGRU(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.feature_dim = p.hidden
                self.speaker = nn.Embedding(p.max_speakers + 1, 8)  # row 0: speaker unknown
                self.gru = nn.GRU(input_dim + 8, p.hidden, batch_first=True)
                self.out = nn.Linear(p.hidden, num_labels)

            def forward(self, batch):  # noqa: ANN001, ANN202
                who = self.speaker(batch.speakers.clamp(min=-1, max=p.max_speakers - 1) + 1)
                features, _ = self.gru(torch.cat([batch.x, who], dim=-1))
                features = features * batch.mask.unsqueeze(-1)
                return self.out(features), features

        return _SpeakerGRU()


class GatedFusion:
    """fused = g * text + (1 - g) * speech, with g a sigmoid of both, then a linear classifier."""

    name = "example-gated"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        d_model: int = 64

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims, num_labels: int):  # noqa: ANN001, ANN201 - torch imported lazily
        import torch
        from torch import nn

        d = self.params.d_model

        class _Gated(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.text, self.speech = nn.Linear(dims["text"], d), nn.Linear(dims["speech"], d)
                self.gate, self.out = nn.Linear(2 * d, d), nn.Linear(d, num_labels)

            def forward(self, batch):  # noqa: ANN001, ANN202
                text, speech = batch.features["text"], batch.features["speech"]
                t, s = torch.tanh(self.text(text)), torch.tanh(self.speech(speech))
                g = torch.sigmoid(self.gate(torch.cat([t, s], dim=-1)))
                return self.out(g * t + (1 - g) * s)

        return _Gated()


class SpeakerMajority:
    """A whole system (no stages): each speaker's most frequent label in training, else the corpus's.

    A baseline that shows how much of a corpus's labels the speaker alone predicts (speakers recur across
    splits in some corpora). ``fit`` sees train and validation only; ``predict`` gets conversations without
    labels. It saves what it learnt, so ``erc-bench predict`` can apply a trained run.
    """

    name = "example-speaker-majority"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        min_turns: int = 1  # a speaker needs this many training turns to get a label of their own

    def __init__(self, params: Params) -> None:
        self.params = params
        self.by_speaker: dict[str, str] = {}
        self.fallback = ""

    def uses_speaker_identity(self) -> bool:
        return True

    def fit(self, data, context) -> None:  # noqa: ANN001
        from collections import Counter

        turns = [u for c in data.splits["train"] for u in c.utterances if u.label is not None]
        self.fallback = Counter(u.label for u in turns).most_common(1)[0][0]
        per_speaker: dict[str, Counter] = {}
        for u in turns:
            per_speaker.setdefault(u.speaker or "", Counter())[u.label] += 1
        self.by_speaker = {s: c.most_common(1)[0][0] for s, c in per_speaker.items()
                           if s and sum(c.values()) >= self.params.min_turns}

    def predict(self, conversations, context) -> dict[str, str]:  # noqa: ANN001
        return {u.id: self.by_speaker.get(u.speaker or "", self.fallback) for c in conversations
                for u in c.utterances}

    def save(self, directory: str) -> None:
        import json
        from pathlib import Path

        Path(directory, "speakers.json").write_text(json.dumps([self.by_speaker, self.fallback]))

    def load(self, directory: str) -> None:
        import json
        from pathlib import Path

        self.by_speaker, self.fallback = json.loads(Path(directory, "speakers.json").read_text())


@hookimpl
def erc_bench_register_systems(register) -> None:  # noqa: ANN001
    register(SpeakerMajority)


@hookimpl
def erc_bench_register_labellers(register) -> None:  # noqa: ANN001
    register(KeywordLabeller)


@hookimpl
def erc_bench_register_context_models(register) -> None:  # noqa: ANN001
    register(SpeakerGRU)


@hookimpl
def erc_bench_register_fusion_heads(register) -> None:  # noqa: ANN001
    register(GatedFusion)
