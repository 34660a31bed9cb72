"""DialogueRNN (Majumder et al., AAAI 2019) as a context model, vectorised over the batch and the parties.

What is the authors' (``declare-lab/conv-emotion``, ``DialogueRNN/model.py``: ``DialogueRNNCell``,
``DialogueRNN``, ``Model``, ``BiModel``), re-implemented, not copied:

* three GRU cells per step ``t`` with speaker ``s = q(t)``: the global state ``g_t = GRU_G([u_t, q_{s,t-1}],
  g_{t-1})``; the context ``c_t``, attention over the earlier global states ``g_1..g_{t-1}`` with the
  authors' default ``general`` scoring ``softmax_i((W u_t) . g_i)`` (zero at ``t = 0``); the speaker's party
  state ``q_{s,t} = GRU_P([u_t, c_t], q_{s,t-1})``; the emotion state ``e_t = GRU_E(q_{s,t}, e_{t-1})``;
* optionally (``listener_state``, the authors' ``--active-listener``) every other party's state is updated
  too, ``q_{l,t} = GRU_L([u_t, q_{s,t}], q_{l,t-1})``; otherwise listeners keep their state;
* dropout on the new global, party and emotion states (the authors' ``dropout_rec``);
* the bidirectional variant (``BiModel``): a second DialogueRNN with its own weights over each conversation
  reversed within its length, its emotion states reversed back and concatenated; with ``emotion_attention``
  (the authors' ``att2``) every emotion state attends over the conversation's emotion states
  (``MatchingAttention`` ``general2``); then ``Linear`` + ReLU (the contextual feature), dropout, classifier.

This project's choices:

* parties are a ``[B, P, D_p]`` tensor indexed by ``batch.speakers`` (slot ``speaker + 1``), ``P`` the
  largest index among the batch's real utterances + 2, so one conversation gives the same outputs alone or
  batched (slots are independent and share the GRU weights); a speaker the corpus does not name (``-1``)
  gets slot 0, one shared "unknown" party, so a corpus without speaker ids runs as a monologue;
* a padded step updates no state (the new states are taken only where ``mask`` is True);
* the default sizes (global = party = 150, emotion = hidden = 100) are those of the authors' DialogueRNN
  configuration in ``DialogueGCN/train_IEMOCAP.py`` rather than the 500/500/300 of
  ``DialogueRNN/train_IEMOCAP.py``, for speed at these feature sizes; the emotion states' dropout is
  ``dropout`` (the authors use ``dropout + 0.15``).
"""

from __future__ import annotations

import torch
from torch import nn

from erc_bench import ConversationBatch
from erc_bench_models.context_modules import MatchingAttention


def party_slots(speakers: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Slot per utterance (``speaker + 1``; 0 = unknown, and at padding) and the number of slots."""
    slots = torch.where(mask, speakers.clamp(min=-1) + 1, torch.zeros_like(speakers))
    return slots, int(slots.max()) + 1 if slots.numel() else 1


def reverse_within(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each row's real prefix reversed in place (padding stays where it is); its own inverse."""
    steps = torch.arange(x.shape[1], device=x.device).expand(mask.shape)
    lengths = mask.sum(dim=1, keepdim=True)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    if x.dim() == 3:
        index = index.unsqueeze(-1).expand_as(x)
    return x.gather(1, index)


class DialogueRNNDirection(nn.Module):
    """One DialogueRNN pass over the conversations, left to right: emotion states ``[B, T, D_e]``."""

    def __init__(self, input_dim: int, global_dim: int, party_dim: int, emotion_dim: int, listener_state: bool,
                 dropout: float) -> None:
        super().__init__()
        self.global_dim, self.party_dim, self.emotion_dim = global_dim, party_dim, emotion_dim
        self.global_cell = nn.GRUCell(input_dim + party_dim, global_dim)
        self.party_cell = nn.GRUCell(input_dim + global_dim, party_dim)
        self.emotion_cell = nn.GRUCell(party_dim, emotion_dim)
        self.listener_cell = nn.GRUCell(input_dim + party_dim, party_dim) if listener_state else None
        self.attention = nn.Linear(input_dim, global_dim, bias=False)  # the authors' 'general' context attention
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, slots: torch.Tensor, parties: int) -> torch.Tensor:
        batch, steps, _ = x.shape
        rows = torch.arange(batch, device=x.device)
        glob = x.new_zeros(batch, self.global_dim)
        party = x.new_zeros(batch, parties, self.party_dim)
        emotion = x.new_zeros(batch, self.emotion_dim)
        queries = self.attention(x)  # [B, T, D_g]: W u_t for every step at once
        history: list[torch.Tensor] = []
        emotions: list[torch.Tensor] = []
        for t in range(steps):
            u, who, real = x[:, t], slots[:, t], mask[:, t].unsqueeze(-1)
            speaker = party[rows, who]
            new_glob = self.dropout(self.global_cell(torch.cat([u, speaker], dim=-1), glob))
            if history:
                past = torch.stack(history, dim=1)  # [B, t, D_g]: real steps only wherever step t is real
                alpha = torch.softmax(torch.einsum("bd,bsd->bs", queries[:, t], past), dim=-1)
                context = torch.einsum("bs,bsd->bd", alpha, past)
            else:
                context = x.new_zeros(batch, self.global_dim)
            new_speaker = self.dropout(self.party_cell(torch.cat([u, context], dim=-1), speaker))
            speaking = nn.functional.one_hot(who, parties).bool().unsqueeze(-1)  # [B, P, 1]
            if self.listener_cell is None:
                listeners = party
            else:
                listeners = self.dropout(self._listen(torch.cat([u, new_speaker], dim=-1), party))
            updated = torch.where(speaking, new_speaker.unsqueeze(1), listeners)
            party = torch.where(real.unsqueeze(-1), updated, party)
            new_emotion = self.dropout(self.emotion_cell(new_speaker, emotion))
            emotion = torch.where(real, new_emotion, emotion)
            glob = torch.where(real, new_glob, glob)
            history.append(new_glob)
            emotions.append(new_emotion)
        return torch.stack(emotions, dim=1)

    def _listen(self, heard: torch.Tensor, party: torch.Tensor) -> torch.Tensor:
        """``listener_cell`` (a GRU cell) for every party at once: what is heard (``[B, D]``) is the same for
        every party, so its input projection is computed once per conversation, not once per party."""
        cell = self.listener_cell
        from_input = nn.functional.linear(heard, cell.weight_ih, cell.bias_ih).unsqueeze(1)  # [B, 1, 3 D_p]
        from_state = nn.functional.linear(party, cell.weight_hh, cell.bias_hh)  # [B, P, 3 D_p]
        input_r, input_z, input_n = from_input.chunk(3, dim=-1)
        state_r, state_z, state_n = from_state.chunk(3, dim=-1)
        reset, update = torch.sigmoid(input_r + state_r), torch.sigmoid(input_z + state_z)
        candidate = torch.tanh(input_n + reset * state_n)
        return (1 - update) * candidate + update * party


class DialogueRNN(nn.Module):
    """DialogueRNN, optionally bidirectional with attention over the emotion states (BiDialogueRNN+Att)."""

    def __init__(self, input_dim: int, num_labels: int, global_dim: int, party_dim: int, emotion_dim: int,
                 hidden: int, listener_state: bool, bidirectional: bool, emotion_attention: bool,
                 recurrent_dropout: float, dropout: float) -> None:
        super().__init__()
        self.feature_dim = hidden
        sizes = (input_dim, global_dim, party_dim, emotion_dim, listener_state, recurrent_dropout)
        self.forward_rnn = DialogueRNNDirection(*sizes)
        self.backward_rnn = DialogueRNNDirection(*sizes) if bidirectional else None
        width = emotion_dim * (2 if bidirectional else 1)
        self.emotion_dropout = nn.Dropout(dropout)
        self.attention = MatchingAttention(width) if emotion_attention else None
        self.linear = nn.Linear(width, hidden)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask.bool()
        slots, parties = party_slots(batch.speakers, mask)
        emotions = self.forward_rnn(x, mask, slots, parties)
        if self.backward_rnn is not None:
            backward = self.backward_rnn(reverse_within(x, mask), mask, reverse_within(slots, mask), parties)
            emotions = torch.cat([emotions, reverse_within(backward, mask)], dim=-1)
        emotions = self.emotion_dropout(emotions) * mask.unsqueeze(-1)
        if self.attention is not None:
            emotions = self.attention(emotions, mask)
        features = torch.relu(self.linear(emotions)) * mask.unsqueeze(-1)
        return self.classifier(features), features
