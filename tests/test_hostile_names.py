"""Ordinary label names ("happy (excited)", "frustrated?") and hostile ids ([/] markup, ESC bytes, formula
cells) through a real run into a real MLflow store: the run finishes, metric names are sanitised and mapped,
nothing is interpreted by the terminal or by a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

from test_recipe_end_to_end import SPEC, write_tiny_corpus

LABELS = {"happy": "happy (excited)", "sad": "frustrated?"}
MARKUP_ID = "c0_u1[/]\x1b[31mred"
FORMULA_ID = '=HYPERLINK("http://evil.example","x")'
FORMULA_CONV = "@SUM(1+1)"


def _hostile_corpus(root: Path) -> Path:
    manifest = write_tiny_corpus(root)
    rows = list(csv.DictReader(manifest.open()))
    for row in rows:
        row["label"] = LABELS[row["label"]]
        if row["utterance_id"] == "c0_u1":
            row["utterance_id"], row["text"] = MARKUP_ID, ""  # an empty text: reported, with this id
        if row["utterance_id"] == "c0_u0":
            row["utterance_id"] = FORMULA_ID
        if row["conversation_id"] == "c9":  # a test conversation
            row["conversation_id"] = FORMULA_CONV
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def test_label_names_ids_and_formula_cells_through_a_real_run(cli, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    manifest = _hostile_corpus(tmp_path)
    spec = tmp_path / "hostile.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="concat", fusion_params="")
                    .replace("seeds = [0, 1]", "seeds = [0]").replace('name = "tiny-e2e"', 'name = "hostile"'))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    code, output = cli(["validate", str(spec)])
    assert code == 0, output
    assert "f1/happy excited for 'happy (excited)'" in output and "f1/frustrated for 'frustrated?'" in output

    code, output = cli(["data", "info", "csv", "--param", f"manifest={manifest}"])
    assert code == 0, output
    assert "f1/happy excited for 'happy (excited)'" in output and "happy (excited)" in output
    assert "\x1b" not in output and "\\x1b[31mred" in output  # shown, not sent to the terminal

    code, output = cli(["run", str(spec), "--tracking-uri", uri])
    assert code == 0, output
    assert "\x1b" not in output and "[/]" in output and "\\x1b[31mred" in output
    assert "1 x empty-text" in output and "kept (the text model reads an empty string" in output
    assert "csv: per-class metrics are named " in output and "f1/happy excited for 'happy (excited)'" in output

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("hostile")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")
    metrics = parent.data.metrics
    for stage in ("stage1-text", "stage1-speech", "stage2-text", "stage3-fusion"):
        assert f"{stage}/test/f1/happy excited" in metrics and f"{stage}/test/f1/frustrated" in metrics
    assert parent.data.params["label_metric_names"] == \
        '{"frustrated?":"frustrated","happy (excited)":"happy excited"}'

    (stage3,) = client.search_runs([experiment.experiment_id],
                                   f"tags.mlflow.parentRunId = '{parent.info.run_id}' and "
                                   "tags.`erc_bench.stage` = 'stage3-fusion'")
    text = Path(client.download_artifacts(stage3.info.run_id, "predictions.csv", str(tmp_path))).read_text()
    cells = [cell for row in csv.reader(text.splitlines()) for cell in row]
    assert "'" + FORMULA_ID in cells and "'" + FORMULA_CONV in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
    assert {"happy (excited)", "frustrated?"} <= set(cells)

    report = tmp_path / "report.html"
    code, output = cli(["report", "--experiment", "hostile", "--out", str(report), "--tracking-uri", uri])
    assert code == 0, output
    page = report.read_text()
    assert "<code>f1/happy excited</code> for <q>happy (excited)</q>" in page

    code, output = cli(["run", str(spec), "--tracking-uri", uri])  # the rerun replays: same names, no failure
    assert code == 0, output


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
