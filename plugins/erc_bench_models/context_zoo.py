"""The ERC baseline zoo's context models (kind ``context_model``): bc-LSTM, DialogueRNN, DialogueGCN and a
Transformer encoder, each from its paper and its authors' public code (the module docstrings say which parts
are the authors' and which are this project's choices).

Like ``context``, these classes only validate params; ``build`` imports torch. Each says whether its
predictions depend on who speaks through ``uses_speaker_identity()`` (the ``SpeakerAware`` capability; the
MERITS-L paper leaves speaker-aware systems out of its comparison, so the leaderboard marks them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


class BcLSTMContext:
    """bc-LSTM (Poria et al., ACL 2017): a bidirectional LSTM over the conversation, a dense layer, classifier.

    Speaker-agnostic. Features are ``dense`` wide. Defaults are the authors' (``bc-LSTM-pytorch``): 2 layers
    of 100 per direction, a 100-unit dense layer.
    """

    name: ClassVar[str] = "bc-lstm"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(100, ge=1, description="LSTM hidden size per direction")
        dense: int = Field(100, ge=1, description="width of the dense layer (the contextual feature)")
        layers: int = Field(2, ge=1, description="stacked bidirectional LSTM layers")
        dropout: float = Field(0.25, ge=0, lt=1, description="between LSTM layers and before the classifier")

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return False

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.context_modules import BcLSTM

        p = self.params
        return BcLSTM(input_dim, num_labels, p.hidden, p.dense, p.layers, p.dropout)


class DialogueRNNContext:
    """DialogueRNN (Majumder et al., AAAI 2019): global, party (speaker) and emotion GRUs with attention over the
    global history; optionally bidirectional with attention over the emotion states (BiDialogueRNN+Att).

    Speaker-aware. Features are ``hidden`` wide. An unknown speaker (-1) is one shared "unknown" party.
    """

    name: ClassVar[str] = "dialogue-rnn"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        global_dim: int = Field(150, ge=1, description="global GRU state size (the authors' D_g)")
        party_dim: int = Field(150, ge=1, description="party (speaker) GRU state size (D_p)")
        emotion_dim: int = Field(100, ge=1, description="emotion GRU state size (D_e)")
        hidden: int = Field(100, ge=1, description="dense layer before the classifier: the feature width (D_h)")
        listener_state: bool = Field(False, description="update listeners' party states too (the authors' "
                                                        "--active-listener)")
        bidirectional: bool = Field(False, description="a second DialogueRNN over the reversed conversation "
                                                       "(the authors' BiModel)")
        emotion_attention: bool = Field(False, description="attention over the conversation's emotion states "
                                                           "(the authors' att2)")
        recurrent_dropout: float = Field(0.1, ge=0, lt=1, description="on the new GRU states (dropout_rec)")
        dropout: float = Field(0.1, ge=0, lt=1, description="on the emotion states and before the classifier")

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return True

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.dialogue_rnn import DialogueRNN

        p = self.params
        return DialogueRNN(input_dim, num_labels, p.global_dim, p.party_dim, p.emotion_dim, p.hidden,
                           p.listener_state, p.bidirectional, p.emotion_attention, p.recurrent_dropout, p.dropout)


class DialogueGCNContext:
    """DialogueGCN (Ghosal et al., EMNLP 2019): a bi-GRU, a relational GCN over a past/future window with
    speaker- and order-typed edges, a GCN layer, and a classifier over both.

    Speaker-aware. Features are ``graph_hidden`` wide. Speakers beyond ``max_speakers - 1`` and unknown ones
    share the last speaker bucket.
    """

    name: ClassVar[str] = "dialogue-gcn"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(100, ge=1, description="sequential encoder (bi-GRU) size per direction (D_e)")
        encoder_layers: int = Field(2, ge=1, description="stacked bi-GRU layers")
        graph_hidden: int = Field(100, ge=1, description="graph layers' width, and the feature width")
        window_past: int = Field(10, ge=-1, description="edges from this many earlier utterances (-1: all)")
        window_future: int = Field(10, ge=-1, description="edges from this many later utterances (-1: all)")
        max_speakers: int = Field(2, ge=1, description="speaker buckets S (2 * S^2 relation types); later "
                                                       "speakers and unknown ones share the last bucket")
        bases: int = Field(0, ge=0, description="basis matrices of the relational layer (0: one per relation)")
        nodal_attention: bool = Field(False, description="attention over the graph features before the classifier "
                                                         "(the authors' --nodal-attention)")
        dropout: float = Field(0.5, ge=0, lt=1, description="between GRU layers and before the classifier")

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return True

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.dialogue_gcn import DialogueGCN

        p = self.params
        return DialogueGCN(input_dim, num_labels, p.hidden, p.graph_hidden, p.encoder_layers, p.max_speakers,
                           p.window_past, p.window_future, p.bases, p.nodal_attention, p.dropout)


class TransformerContext:
    """A Transformer encoder over the conversation (positional encodings, optional speaker embeddings).

    Speaker-aware only with ``speaker_embeddings``. Features are ``d_model`` wide.
    """

    name: ClassVar[str] = "transformer"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        d_model: int = Field(128, ge=1, description="model width, and the feature width")
        heads: int = Field(4, ge=1, description="attention heads; must divide d_model")
        layers: int = Field(2, ge=1, description="encoder layers")
        feedforward: int = Field(256, ge=1, description="feed-forward width of each layer")
        positional: Literal["sinusoidal", "learned"] = Field("sinusoidal", description="position encoding of "
                                                             "batch.positions")
        max_positions: int = Field(512, ge=1, description="rows of the learned position table")
        speaker_embeddings: bool = Field(False, description="add a learned embedding of batch.speakers")
        max_speakers: int = Field(9, ge=1, description="speaker embeddings; later speakers share the last one")
        dropout: float = Field(0.1, ge=0, lt=1)

        @model_validator(mode="after")
        def _heads_divide(self):  # noqa: ANN202 - pydantic validator
            if self.d_model % self.heads:
                raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
            return self

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return self.params.speaker_embeddings

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.transformer_context import ConversationTransformer

        p = self.params
        return ConversationTransformer(input_dim, num_labels, p.d_model, p.heads, p.layers, p.feedforward,
                                       p.positional, p.max_positions, p.speaker_embeddings, p.max_speakers,
                                       p.dropout)
