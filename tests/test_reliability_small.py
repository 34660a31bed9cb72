"""Small reliability fixes: disabled pre-training, label-name mapping, CSV formula cells, printable ids,
a full disk at the cache's write layer, the tracking hint for an HTTP store."""

from __future__ import annotations

import csv
import errno
import io
import os

import pytest

from erc_bench.core.cache import Cache, CacheFull
from erc_bench.core.csv_safe import SafeWriter, neutralise, restore
from erc_bench.core.label_names import metric_labels, renamed_labels
from erc_bench.core.printable import printable, shown


def test_disabled_pretraining_needs_no_corpus(tmp_path, cli) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text('[benchmark]\nname = "x"\n[[datasets]]\nplugin = "demo"\n[model]\nmodalities = ["speech"]\n'
                    'speech_encoder = { plugin = "acoustic-stats" }\n[pretrain]\nenabled = false\n')
    code, output = cli(["validate", str(spec)])
    assert code == 0, output
    spec.write_text('[benchmark]\nname = "x"\n[[datasets]]\nplugin = "demo"\n[model]\nmodalities = ["speech"]\n'
                    'speech_encoder = { plugin = "acoustic-stats" }\n[pretrain]\nenabled = true\n')
    code, output = cli(["validate", str(spec)])
    assert code == 2 and "pretrain.corpus" in output


def test_metric_label_names_are_valid_collision_free_and_stable() -> None:
    from mlflow.utils.validation import _validate_metric_name

    labels = ["happy (excited)", "frustrated?", "frustrated", "a/b", "..", "", "x=y+z&<'\">", "neutral"]
    mapping = metric_labels(labels)
    assert len(set(mapping.values())) == len(labels)
    assert mapping["frustrated"] == "frustrated" and mapping["neutral"] == "neutral"  # accepted names never change
    for form in mapping.values():
        _validate_metric_name(f"stage1-text/test/f1/{form}")
    assert renamed_labels(["angry", "sad"]) == {}


def test_formula_cells_are_neutralised_and_restored() -> None:
    cells = ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=already", "-0.25", "plain", 3]
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(cells)
    written = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert written[:6] == ["'=HYPERLINK(\"x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert written[6] == "''=already" and written[7] == "-0.25" and written[8] == "plain"
    assert [restore(c) for c in written[:9]] == [str(c) for c in cells[:9]]
    assert neutralise(-1.5) == -1.5


def test_ids_are_printable_and_markup_safe() -> None:
    from rich.console import Console

    hostile = "id[/]\x1b[31mred\x07"
    assert printable(hostile) == "id[/]\\x1b[31mred\\x07"
    console = Console(file=io.StringIO(), width=200)
    console.print(f"[yellow]x[/yellow] {shown(hostile)}")  # would raise MarkupError unescaped
    assert "\x1b[31m" not in console.file.getvalue()


def test_a_full_disk_at_the_write_layer_is_one_line(tmp_path, monkeypatch) -> None:
    cache = Cache(tmp_path / "cache")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd: int, mode: str) -> None:
            self.fh = real_fdopen(fd, mode)

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("erc_bench.core.cache.os.fdopen", Full)
    with pytest.raises(CacheFull) as info:
        cache.put_json("transcripts", "k", {"text": "x" * 5000})
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "cache" / "transcripts") in message and "4.9 KiB" in message
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial file left
