"""Run with ``pytest`` after ``pip install -e .``: erc-bench's pytest fixtures check the components' contracts
and run the fusion head through a tiny end-to-end spec on the bundled demo corpus."""

from __future__ import annotations


def test_labeller_meets_the_contract(erc_bench_contract) -> None:
    labeller = erc_bench_contract("labeller", "example-keyword")
    assert [o.label for o in labeller.label(["a great day", "an awful day", "a day"])] == [
        "positive", "negative", "neutral"]


def test_fusion_head_meets_the_contract(erc_bench_contract) -> None:
    erc_bench_contract("fusion_head", "example-gated", {"d_model": 8})


def test_speaker_context_meets_the_contract(erc_bench_contract) -> None:
    erc_bench_contract("context_model", "example-speaker-gru", {"hidden": 8})


def test_both_run_end_to_end(erc_bench_tiny_run) -> None:
    outcome = erc_bench_tiny_run(context_model={"plugin": "example-speaker-gru", "params": {"hidden": 8}},
                                 fusion_head={"plugin": "example-gated", "params": {"d_model": 8}})
    assert "stage3-fusion" in {score.stage for score in outcome.scores}
