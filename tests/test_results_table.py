"""The results table of ``erc-bench run``: test n on every row, fewer fusion utterances said, metrics on request."""

from __future__ import annotations

from rich.console import Console

from erc_bench.runs.benchmark import BenchmarkOutcome, StageScore
from erc_bench.runs.results import results_table, summary_rows


def _scores(stage: str, n: int, wf1: float, ua: float) -> list[StageScore]:
    return [StageScore("demo", seed, stage, {"test": {"weighted_f1": wf1 + seed / 100, "ua": ua, "macro_f1": ua,
                                                      "accuracy": wf1, "n": float(n)},
                                             "validation": {"weighted_f1": 0.5}}) for seed in (0, 1)]


def _render(outcome: BenchmarkOutcome, metrics: tuple[str, ...] = ()) -> str:
    console = Console(width=250, record=True)
    console.print(results_table(outcome, metrics))
    return console.export_text()


def test_rows_show_test_n_and_fusion_says_how_many_fewer() -> None:
    outcome = BenchmarkOutcome("demo-exp", "sqlite://", scores=_scores("stage2-text", 105, 0.70, 0.60)
                               + _scores("stage2-speech", 105, 0.60, 0.55) + _scores("stage3-fusion", 98, 0.80, 0.75))
    rows = {r["stage"]: r for r in summary_rows(outcome, ("weighted_f1", "ua"))}
    assert rows["stage2-text"]["n"] == 105 and "n_context" not in rows["stage2-text"]
    assert rows["stage3-fusion"]["n"] == 98 and rows["stage3-fusion"]["n_context"] == 105
    assert rows["stage3-fusion"]["ua"]["mean"] == 75.0
    text = _render(outcome)
    assert "98 (7 of 105 lack a modality)" in text and "UA" not in text
    assert "| 105 " in text.replace("│", "|")
    with_ua = _render(outcome, ("ua", "macro_f1"))
    assert "test UA per seed" in with_ua and "macro F1 mean ± std" in with_ua and "75.00 ± 0.00" in with_ua


def test_equal_counts_need_no_note() -> None:
    outcome = BenchmarkOutcome("e", "sqlite://", scores=_scores("stage2-text", 50, 0.7, 0.6)
                               + _scores("stage3-fusion", 50, 0.8, 0.7))
    assert "lack a modality" not in _render(outcome)
