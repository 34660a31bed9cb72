"""The baseline zoo's context models (bc-LSTM, DialogueRNN, DialogueGCN, Transformer): the module contract,
padding, what speakers do to predictions, fitting a tiny batch, corpora without speaker ids, and one run end
to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from erc_bench import ConversationBatch, check_component
from erc_bench.core.capabilities import SpeakerAware

DIM, LABELS = 8, 3
LENGTHS = [6, 4, 1]
# [B, T] speakers at real positions: three voices, one utterance whose speaker the corpus does not name
SPEAKERS = [[0, 1, 0, 2, -1, 1], [0, 0, 1, 0], [0]]

CASES = {  # id -> (name, tiny params, uses speaker identity)
    "bc-lstm": ("bc-lstm", {"hidden": 8, "dense": 8}, False),
    "dialogue-rnn": ("dialogue-rnn", {"global_dim": 8, "party_dim": 8, "emotion_dim": 8, "hidden": 8}, True),
    "dialogue-rnn-bi-att-listener": ("dialogue-rnn", {"global_dim": 8, "party_dim": 8, "emotion_dim": 8,
                                                      "hidden": 8, "listener_state": True, "bidirectional": True,
                                                      "emotion_attention": True}, True),
    "dialogue-gcn": ("dialogue-gcn", {"hidden": 8, "graph_hidden": 8, "max_speakers": 3}, True),
    "dialogue-gcn-bases-window": ("dialogue-gcn", {"hidden": 8, "graph_hidden": 8, "bases": 4, "window_past": 1,
                                                   "window_future": 2, "nodal_attention": True}, True),
    "transformer": ("transformer", {"d_model": 8, "heads": 2, "feedforward": 16}, False),
    "transformer-speakers": ("transformer", {"d_model": 8, "heads": 2, "feedforward": 16,
                                             "speaker_embeddings": True, "positional": "learned"}, True),
}
SPEAKER_AWARE = [case for case, (_, _, aware) in CASES.items() if aware]


def _batch(speakers: list[list[int]] = SPEAKERS, seed: int = 0, pad_speaker: int = -1) -> ConversationBatch:
    gen = torch.Generator().manual_seed(seed)
    steps = max(LENGTHS)
    mask = torch.arange(steps).expand(len(LENGTHS), steps) < torch.tensor(LENGTHS).unsqueeze(1)
    who = torch.full((len(LENGTHS), steps), pad_speaker, dtype=torch.int64)
    for b, row in enumerate(speakers):
        who[b, :len(row)] = torch.tensor(row)
    positions = torch.arange(steps).expand(mask.shape).masked_fill(~mask, -1)
    x = torch.randn(len(LENGTHS), steps, DIM, generator=gen) * mask.unsqueeze(-1)
    return ConversationBatch({"text": x}, mask, who, positions)


def _module(case: str, **overrides):  # noqa: ANN202
    name, params, _ = CASES[case]
    torch.manual_seed(0)
    return check_component("context_model", name, {**params, **overrides}).build(DIM, LABELS)


def _logits(module, batch: ConversationBatch) -> torch.Tensor:  # noqa: ANN001
    with torch.no_grad():
        return module.eval()(batch)[0]


@pytest.mark.parametrize("case", CASES)
def test_contract_and_speaker_identity_flag(case: str) -> None:
    name, params, aware = CASES[case]
    component = check_component("context_model", name, params)
    assert isinstance(component, SpeakerAware)
    assert component.uses_speaker_identity() is aware


def test_the_existing_context_models_say_they_ignore_speakers() -> None:
    for name in ("bigru-attention", "none", "mean-pool"):
        assert check_component("context_model", name).uses_speaker_identity() is False


@pytest.mark.parametrize("case", CASES)
def test_padding_never_changes_real_outputs(case: str) -> None:
    module = _module(case)
    batch = _batch()
    logits = _logits(module, batch)
    pad = ~batch.mask
    garbage = ConversationBatch({"text": batch.x + 1e3 * torch.randn(batch.x.shape) * pad.unsqueeze(-1)},
                                batch.mask, batch.speakers.masked_fill(pad, 11), batch.positions)
    assert torch.allclose(_logits(module, garbage)[batch.mask], logits[batch.mask], atol=1e-5)
    for b, length in enumerate(LENGTHS):  # each conversation alone, unpadded, as in the batch
        alone = ConversationBatch({"text": batch.x[b:b + 1, :length]}, batch.mask[b:b + 1, :length],
                                  batch.speakers[b:b + 1, :length], batch.positions[b:b + 1, :length])
        assert torch.allclose(_logits(module, alone)[0], logits[b, :length], atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_who_said_what_changes_predictions_only_for_speaker_aware_models(case: str) -> None:
    module = _module(case)
    reassigned = [[0, 1, 1, 0, -1, 2], [0, 1, 1, 0], [0]]  # same words, other speakers
    same = torch.allclose(_logits(module, _batch()), _logits(module, _batch(reassigned)), atol=1e-6)
    assert same is not CASES[case][2]


def test_dialogue_rnn_party_slots_are_symmetric() -> None:
    """DialogueRNN's parties share their GRU weights and start from zero, so any consistent permutation of
    speaker indices (here 0 <-> 1 in every conversation, and the unknown speaker made a known one) gives
    identical predictions: only who-spoke-when matters."""
    for case in ("dialogue-rnn", "dialogue-rnn-bi-att-listener"):
        module = _module(case)
        swapped = [[{0: 1, 1: 0}.get(s, s) for s in row] for row in SPEAKERS]
        unknown_named = [[5 if s == -1 else s for s in row] for row in SPEAKERS]
        for other in (swapped, unknown_named):
            assert torch.allclose(_logits(module, _batch(other)), _logits(module, _batch()), atol=1e-6)


@pytest.mark.parametrize("case", ["dialogue-gcn", "transformer-speakers"])
def test_role_indexed_models_tell_the_opener_from_the_others(case: str) -> None:
    """DialogueGCN's relation weights and the Transformer's speaker embeddings are per speaker index: swapping
    indices 0 and 1 changes predictions (as in the authors' DialogueGCN, whose IEMOCAP speakers are fixed
    roles). The engine numbers speakers by first turn, so renaming them never changes the indices
    (tests/test_models_components.py::test_conversation_roles_number_speakers_by_first_turn)."""
    module = _module(case)
    swapped = [[{0: 1, 1: 0}.get(s, s) for s in row] for row in SPEAKERS]
    assert not torch.allclose(_logits(module, _batch(swapped)), _logits(module, _batch()), atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_runs_without_speaker_ids(case: str) -> None:
    """A corpus without speakers (all -1): every utterance is attributed to one speaker."""
    module = _module(case)
    anonymous = [[-1] * n for n in LENGTHS]
    logits = _logits(module, _batch(anonymous))
    assert logits.shape == (len(LENGTHS), max(LENGTHS), LABELS) and bool(torch.isfinite(logits).all())
    if CASES[case][0] == "dialogue-rnn":  # one shared "unknown" party = a monologue of any one speaker
        monologue = [[0] * n for n in LENGTHS]
        assert torch.allclose(logits, _logits(module, _batch(monologue)), atol=1e-6)
    if CASES[case][0] == "dialogue-gcn":  # unknown speakers share the last ("other") bucket
        others = [[CASES[case][1].get("max_speakers", 2) - 1] * n for n in LENGTHS]
        assert torch.allclose(logits, _logits(module, _batch(others)), atol=1e-6)


@pytest.fixture(autouse=True)
def _one_thread():  # noqa: ANN202 - tiny tensors: threads only add overhead (and the CPUs are shared)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("case", [case for case in CASES if case != "dialogue-gcn-bases-window"])
def test_overfits_a_tiny_batch(case: str) -> None:
    """100 Adam steps fit the 11 utterances' random labels (the narrow-window, 4-basis GCN at width 8 needs
    more, so it is left out)."""
    module = _module(case, dropout=0.0).train()
    batch = _batch(seed=1)
    labels = torch.randint(0, LABELS, batch.mask.shape, generator=torch.Generator().manual_seed(2))
    optimiser = torch.optim.Adam(module.parameters(), lr=2e-2)
    for _ in range(100):
        loss = torch.nn.functional.cross_entropy(module(batch)[0][batch.mask], labels[batch.mask])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    predicted = _logits(module, batch).argmax(-1)
    assert bool((predicted[batch.mask] == labels[batch.mask]).all())


def test_a_speaker_aware_family_runs_end_to_end(tmp_path: Path) -> None:
    from erc_bench import run_tiny_spec

    outcome = run_tiny_spec(tmp_path, context_model={"plugin": "dialogue-gcn", "params": {
        "hidden": 8, "graph_hidden": 8, "encoder_layers": 1}})
    stages = {score.stage for score in outcome.scores}
    assert "stage3-fusion" in stages, stages
