"""MLflow run pages and the HTML report, read back from a real SQLite store after a real (tiny) benchmark."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from test_recipe_end_to_end import SPEC, STAGES, write_tiny_corpus  # noqa: E402

from erc_bench.tracking import tags as names  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,2400"]
SECTION_IDS = ["leaderboard", "significance", "results", "confusion", "per-class-f1", "curves", "problems", "spec"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two seeds of the tiny benchmark in a fresh SQLite store, and its report."""
    from rich.console import Console

    from erc_bench.cli.app import main
    from erc_bench.core.spec import load_spec
    from erc_bench.runs.benchmark import run_benchmark

    root = tmp_path_factory.mktemp("report")
    manifest = write_tiny_corpus(root)
    spec = root / "tiny.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2")
                    .replace('name = "tiny-e2e"', 'name = "tiny-e2e"\ndescription = "two seeds of a tiny corpus"'))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    run_benchmark(load_spec(spec), tracking_uri=uri, cache_dir=root / "cache", console=Console(quiet=True))
    report = root / "report.html"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(sys, "argv", ["erc-bench", "report", "--experiment", "tiny-e2e", "--out", str(report),
                                    "--tracking-uri", uri])
        with pytest.raises(SystemExit) as exit_info:
            main()
    assert not exit_info.value.code, printed.getvalue()
    return {"uri": uri, "report": report, "root": root, "printed": printed.getvalue()}


def _client(store: dict[str, object]):  # noqa: ANN202
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=str(store["uri"]))


def test_experiment_opens_as_training_experiment_with_description(store) -> None:
    experiment = _client(store).get_experiment_by_name("tiny-e2e")
    assert experiment.tags[names.EXPERIMENT_KIND_TAG] == "custom_model_development"
    assert experiment.tags[names.NOTE_TAG].startswith("two seeds of a tiny corpus")


def test_seed_runs_carry_note_headline_and_resolved_spec(store) -> None:
    client = _client(store)
    experiment = client.get_experiment_by_name("tiny-e2e")
    parents = client.search_runs([experiment.experiment_id], f"tags.`{names.RUN_KIND_TAG}` = 'dataset-seed'",
                                 order_by=[f"metrics.`{names.headline_name()}` DESC"])
    assert len(parents) == 2
    for parent in parents:
        metrics, tags = parent.data.metrics, parent.data.tags
        assert tags[names.FINAL_STAGE_TAG] == "stage3-fusion"
        assert metrics["test/weighted_f1"] == metrics["stage3-fusion/test/weighted_f1"]
        assert metrics["test/ua"] == metrics["stage3-fusion/test/ua"]
        note = tags[names.NOTE_TAG]
        assert f"seed **{tags[names.SEED_TAG]}**" in note and "**tiny-e2e** on **csv**" in note
        for stage in STAGES:  # every stage's test WF1 and UA, as the fractions MLflow holds
            line = next(line for line in note.splitlines() if line.startswith(f"| {stage} |"))
            assert f"{metrics[f'{stage}/test/weighted_f1']:.4f} | {metrics[f'{stage}/test/ua']:.4f}" in line
            uri = next(line for line in note.splitlines() if line.startswith(f"- {stage}: "))[len(stage) + 4:]
            assert uri.endswith("/predictions.csv") and Path(uri.removeprefix("file://")).is_file()
        resolved = json.loads(Path(client.download_artifacts(parent.info.run_id, names.RESOLVED_SPEC_ARTIFACT,
                                                             str(store["root"]))).read_text())
        assert resolved["training"]["stage1"]["weight_decay"] == 0.01  # a default the TOML never wrote
        assert resolved["model"]["context_model"]["params"]["hidden"] == 8
        assert len(resolved["model"]["context_model"]["params"]) > 2  # the plugin's own defaults filled in


def test_one_metric_scheme_in_fractions_with_curves_and_plots(store) -> None:
    client = _client(store)
    experiment = client.get_experiment_by_name("tiny-e2e")
    children = client.search_runs([experiment.experiment_id], f"tags.`{names.STAGE_TAG}` != ''")
    assert len(children) == 2 * len(STAGES)
    for child in children:
        for key, value in child.data.metrics.items():
            split, metric = key.split("/", 1) if not key.startswith("epoch/") else key[6:].split("/", 1)
            assert split in ("train", "validation", "test"), key
            assert "_" not in split and not key.startswith("val_"), key
            if not metric.endswith("loss") and metric != "n":
                assert 0.0 <= value <= 1.0, key
        curve = client.get_metric_history(child.info.run_id, "epoch/validation/loss")
        assert [m.step for m in curve] == [1, 2, 3] and all(m.value > 0 for m in curve)
        assert len(client.get_metric_history(child.info.run_id, "epoch/validation/weighted_f1")) == 3
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"confusion_test.png", "confusion_validation.png", "per_class_f1.png", "training_curves.png",
                names.CONFUSION_ARTIFACT, names.HISTORY_ARTIFACT, names.PREDICTIONS_ARTIFACT} <= artifacts
        assert names.NOTE_TAG in child.data.tags


def test_benchmark_summary_logged_once_with_mean_and_std(store) -> None:
    client = _client(store)
    experiment = client.get_experiment_by_name("tiny-e2e")
    summaries = client.search_runs([experiment.experiment_id], f"tags.`{names.RUN_KIND_TAG}` = 'benchmark-summary'")
    assert len(summaries) == 1
    seeds = client.search_runs([experiment.experiment_id], f"tags.`{names.RUN_KIND_TAG}` = 'dataset-seed'")
    for stage in STAGES:
        values = [r.data.metrics[f"{stage}/test/weighted_f1"] for r in seeds]
        metrics = summaries[0].data.metrics
        assert metrics[f"csv/{stage}/test/weighted_f1_mean"] == pytest.approx(statistics.fmean(values))
        assert metrics[f"csv/{stage}/test/weighted_f1_std"] == pytest.approx(statistics.stdev(values))
    assert "| csv | stage3-fusion | weighted_f1 |" in summaries[0].data.tags[names.NOTE_TAG]
    assert "summary_csv.png" in {a.path for a in client.list_artifacts(summaries[0].info.run_id)}


class _Page(HTMLParser):
    """Collects section ids, image sources, external references and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(str(values.get("id")))
        if tag == "img":
            self.images.append(str(values.get("src")))
        for key in ("src", "href"):
            if (values.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(str(values[key]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _assert_not_blank(png: bytes) -> None:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005  # real ink, not a white or flat page


def test_report_is_self_contained_and_complete(store) -> None:
    html_text = Path(store["report"]).read_text(encoding="utf-8")
    page = _Page()
    page.feed(html_text)
    assert page.sections == SECTION_IDS
    assert not page.external and not ({"script", "link", "iframe"} & page.tags)
    # 5 stages: 2 seeds' confusion matrices each, one per-class F1 and one curves figure each, one summary plot
    assert len(page.images) == 5 * 2 + 5 + 5 + 1
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        _assert_not_blank(base64.b64decode(src.split(",", 1)[1]))
    text = " ".join(page.text)
    seed0 = next(r for r in _client(store).search_runs(
        [_client(store).get_experiment_by_name("tiny-e2e").experiment_id],
        f"tags.`{names.RUN_KIND_TAG}` = 'dataset-seed' and tags.`{names.SEED_TAG}` = '0'"))
    assert f"{100 * seed0.data.metrics['stage3-fusion/test/weighted_f1']:.2f}" in text
    assert "reference: MERITS-L paper Table I" in text and "IEMOCAP" in text
    assert "No data problems were found" in text and '"weight_decay": 0.01' in text


def test_report_command_and_unknown_experiment(cli, store, tmp_path) -> None:
    assert f"Wrote {store['report']}" in store["printed"] and "2 dataset-seed runs" in store["printed"]
    out = tmp_path / "r.html"
    code, output = cli(["report", "--experiment", "nope", "--out", str(out), "--tracking-uri", str(store["uri"])])
    assert code == 2 and "no MLflow experiment named 'nope'" in output and "tiny-e2e" in output
    assert "Traceback" not in output


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(store, tmp_path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium not found: install Debian's 'chromium' package (apt-get install chromium)")
    # A copy of the report with a probe that writes, after load, how many images Chromium decoded.
    probe = ("<script>window.addEventListener('load', () => { const imgs = [...document.images];"
             "document.body.setAttribute('data-decoded', imgs.filter(i => i.complete && i.naturalWidth > 0).length);"
             "document.body.setAttribute('data-images', imgs.length); });</script>")
    probed = tmp_path / "probed.html"
    probed.write_text(Path(store["report"]).read_text(encoding="utf-8").replace("</body>", probe + "</body>"))
    env = os.environ | {"HOME": str(tmp_path)}
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=300, env=env).stdout
    page = _Page()
    page.feed(dom)
    assert page.sections == SECTION_IDS
    for heading in ("Leaderboard", "Results per stage and seed", "Confusion matrices", "Per-class F1",
                    "Training curves", "Data problems", "Spec"):
        assert f">{heading}</h2>" in dom
    decoded = int(dom.split('data-decoded="', 1)[1].split('"', 1)[0])
    assert decoded == int(dom.split('data-images="', 1)[1].split('"', 1)[0]) == 21
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", Path(store["report"]).as_uri()], capture_output=True,
                   timeout=300, env=env)
    _assert_not_blank(shot.read_bytes())
