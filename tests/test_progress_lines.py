"""Progress off a terminal: plain lines arrive within an epoch, not once per epoch (issue 18).

A MELD epoch of a fine-tuned encoder is minutes; when the training loop's task counted epochs, a run piped
to a file printed nothing for its first 12 minutes. The loop now counts batches, and the plain display
repeats a quiet step's line from a heartbeat thread.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")


def _fit_script(sleep: float) -> str:
    """A two-epoch ``fit`` over 40 batches per epoch; each batch's collate sleeps ``sleep`` seconds."""
    return textwrap.dedent(f"""
        import time
        from types import SimpleNamespace
        import torch
        from rich.console import Console
        from erc_bench.core.progress import progress_bar
        from erc_bench.core.spec import StageTraining
        from erc_bench.train.context import StageContext
        from erc_bench.train.loop import Batch, fit

        def collate(items):
            time.sleep({sleep})
            x = torch.tensor([[float(i % 2), 1.0] for i, _ in items])
            return Batch(ids=[str(i) for i, _ in items], gold=torch.tensor([y for _, y in items]), inputs=(x,))

        items = {{"train": [(i, i % 2) for i in range(80)], "validation": [(i, i % 2) for i in range(4)]}}
        cfg = StageTraining(epochs=2, batch_size=2, lr=1e-2)
        with progress_bar(Console()) as progress:
            ctx = StageContext.create(SimpleNamespace(labels=["a", "b"]), cfg, 0, "cpu", progress)
            ctx.begin()
            fit("stage1-toy", torch.nn.Linear(2, 2), items, collate, ctx, evaluate_splits=("validation",))
    """)


def test_piped_run_prints_lines_within_the_first_epoch(tmp_path) -> None:
    """stdout is a pipe, as in CI or ``| tee``: lines come every interval while epoch 1 is still running."""
    script = tmp_path / "fit.py"
    script.write_text(_fit_script(sleep=0.05))
    env = {**__import__("os").environ, "ERC_BENCH_PROGRESS_SECONDS": "0.5"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("stage1-toy")]
    first_epoch = [line for line in lines if line.startswith("stage1-toy epoch 1/2:")]
    # 40 training batches of 0.05 s: at least two lines before the first validation, each with a count
    # below the epoch's 42 batches, a rate and an ETA
    assert len(first_epoch) >= 2, done.stdout
    for line in first_epoch:
        done_count = int(line.split(": ")[1].split("/")[0].removeprefix("still at "))
        assert 0 < done_count < 42 and "batches/s" in line and "eta" in line, line
    assert lines[-1].startswith("stage1-toy evaluating, val WF1") and "86/86 batches (100%)" in lines[-1]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_repeats_a_quiet_step_and_only_the_active_one() -> None:
    """A step that makes no progress for an interval (a long ASR chunk, a slow first batch) still prints."""
    import io

    from rich.console import Console

    from erc_bench.core.progress import PlainProgress

    console = Console(file=io.StringIO(), force_terminal=False)
    clock = _Clock()
    plain = PlainProgress(console, interval=5, clock=clock)
    old = plain.add_task("labelling", total=3)
    plain.update(old, advance=1)  # left unfinished by its step: must not chatter once another step runs
    task = plain.add_task("transcribing", total=10, unit="clips")
    clock.now = 4.0
    plain.beat()  # quiet for 4 s < 5 s: nothing
    assert console.file.getvalue() == ""
    plain.update(task, advance=2)
    clock.now = 6.0
    plain.beat()
    clock.now = 12.0
    plain.beat()
    lines = console.file.getvalue().splitlines()
    assert lines == ["transcribing: 2/10 clips (20%), 0.33 clips/s, 6 s, eta 24 s",  # moved since its last line
                     "transcribing: still at 2/10 clips (20%), 0.17 clips/s, 12 s, eta 48 s"]
    plain.update(task, completed=10)
    clock.now = 30.0
    plain.beat()  # finished: silent
    assert console.file.getvalue().splitlines()[-1] == "transcribing: 10/10 clips (100%), 12 s"


def test_fit_reports_batches_to_a_display_and_epochs_to_a_callback() -> None:
    """A rich-style display sees every batch (train, validation, final evaluation); a callback one record per
    epoch, as before."""
    from erc_bench.core.spec import StageTraining
    from erc_bench.train.context import StageContext
    from erc_bench.train.loop import Batch, fit

    class Display:
        def __init__(self) -> None:
            self.total, self.completed, self.descriptions = None, 0, []

        def add_task(self, description: str, total: int, **_: object) -> int:
            self.total = total
            self.descriptions.append(description)
            return 0

        def update(self, task: int, advance: int = 0, completed: int | None = None,
                   description: str | None = None) -> None:
            self.completed = completed if completed is not None else self.completed + advance
            if description:
                self.descriptions.append(description)

    def collate(items: list) -> Batch:
        x = torch.tensor([[float(i % 2), 1.0] for i, _ in items])
        return Batch(ids=[str(i) for i, _ in items], gold=torch.tensor([y for _, y in items]), inputs=(x,))

    items = {"train": [(i, i % 2) for i in range(10)], "validation": [(i, i % 2) for i in range(4)],
             "test": [(i, i % 2) for i in range(6)]}
    cfg = StageTraining(epochs=3, batch_size=4, lr=1e-2)
    display = Display()
    ctx = StageContext.create(SimpleNamespace(labels=["a", "b"]), cfg, 0, "cpu", display)
    fit("toy", torch.nn.Linear(2, 2), items, collate, ctx)
    # per epoch 3 training + 1 validation batches; then train 3, validation 1, test 2 with the chosen weights
    assert display.total == 3 * 4 + 6 and display.completed == display.total
    assert display.descriptions[0] == "toy epoch 1/3" and display.descriptions[-1].startswith("toy evaluating")
    records: list = []
    ctx = StageContext.create(SimpleNamespace(labels=["a", "b"]), cfg, 0, "cpu",
                              lambda stage, record: records.append((stage, record["epoch"])))
    fit("toy", torch.nn.Linear(2, 2), items, collate, ctx)
    assert records == [("toy", 1), ("toy", 2), ("toy", 3)]
