"""Conversations as the batches Stages II and III train on (``ConversationBatch``), for training and ``predict``.

``roles`` numbers each conversation's speakers in order of first turn (``-1``
where the corpus names none) and keeps each utterance's position;
``conversation_collate`` pads whole conversations into one ``ConversationBatch``
(wrapped in the loop's ``Batch`` with the flattened gold labels). Training
(``stages``) and ``predict`` (``predict_stages``) both batch through here, so a
model sees the same tensors in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from erc_bench.core.interfaces import Conversation, ConversationBatch

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from erc_bench.train.loop import Batch

Item = tuple[str, int]  # (utterance id, label index)
UNKNOWN_SPEAKER = -1


def roles(conversations: Iterable[Conversation]) -> dict[str, tuple[int, int]]:
    """Utterance id -> (speaker index within its conversation, position). Speakers are numbered in order of
    their first turn, so consistently renaming them changes nothing; no speaker is ``-1``."""
    out: dict[str, tuple[int, int]] = {}
    for conversation in conversations:
        numbers: dict[str, int] = {}
        for utt in sorted(conversation.utterances, key=lambda u: u.position):
            speaker = UNKNOWN_SPEAKER if not utt.speaker else numbers.setdefault(utt.speaker, len(numbers))
            out[utt.id] = (speaker, utt.position)
    return out


def conversation_collate(tables: Mapping[str, Mapping[str, np.ndarray]],
                         speaker_positions: Mapping[str, tuple[int, int]],
                         device: Any) -> Callable[[list[list[Item]]], Batch]:
    """Conversations (lists of ``(utterance id, label index)`` in order) -> a padded ``ConversationBatch`` with
    one ``[B, T, D]`` tensor per modality of ``tables``, and the flattened gold labels of real positions."""
    import numpy as np
    import torch

    from erc_bench.train.loop import Batch

    def collate(conversations: list[list[Item]]) -> Batch:
        steps = max(len(c) for c in conversations)
        mask = np.zeros((len(conversations), steps), dtype=bool)
        speakers = np.full((len(conversations), steps), UNKNOWN_SPEAKER, dtype=np.int64)
        positions = np.full((len(conversations), steps), -1, dtype=np.int64)
        padded = {name: np.zeros((len(conversations), steps, t[next(iter(t))].shape[-1]), dtype=np.float32)
                  for name, t in tables.items()}
        for b, conv in enumerate(conversations):
            mask[b, :len(conv)] = True
            for t, (uid, _) in enumerate(conv):
                speakers[b, t], positions[b, t] = speaker_positions.get(uid, (UNKNOWN_SPEAKER, t))
            for name, table in tables.items():
                padded[name][b, :len(conv)] = np.stack([table[uid] for uid, _ in conv])
        ids = [uid for conv in conversations for uid, _ in conv]
        gold = torch.tensor([y for conv in conversations for _, y in conv], dtype=torch.long, device=device)
        mask_t = torch.from_numpy(mask).to(device)
        batch = ConversationBatch({name: torch.from_numpy(p).to(device) for name, p in padded.items()}, mask_t,
                                  torch.from_numpy(speakers).to(device), torch.from_numpy(positions).to(device))
        return Batch(ids=ids, gold=gold, inputs=(batch,), mask=mask_t)

    return collate
