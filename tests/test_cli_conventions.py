"""The CLI conventions researchers expect: --version, shipped specs by name, a tracking URI checked first,
compare by short id / by system with JSON, run --output / --limit, plain progress off-terminal, predict."""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench import __version__


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=write_tiny_corpus(tmp_path), fusion="co-attention",
                                fusion_params="d_model = 8, heads = 2"))
    return spec


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Two tiny systems (co-attention and late fusion, seeds 0 and 1) trained once into a real MLflow store."""
    from rich.console import Console

    from erc_bench.core.spec import load_spec
    from erc_bench.runs.benchmark import run_benchmark

    root = tmp_path_factory.mktemp("trained")
    manifest = write_tiny_corpus(root)
    uri, cache = f"sqlite:///{root / 'mlflow.db'}", root / "cache"
    specs = {}
    for name, fusion, params in (("tiny-e2e", "co-attention", "d_model = 8, heads = 2"), ("tiny-late", "late", "")):
        spec = root / f"{name}.toml"
        spec.write_text(SPEC.format(manifest=manifest, fusion=fusion, fusion_params=params)
                        .replace('name = "tiny-e2e"', f'name = "{name}"'))
        run_benchmark(load_spec(spec), tracking_uri=uri, cache_dir=cache, console=Console(quiet=True))
        specs[name] = spec
    return SimpleNamespace(root=root, manifest=manifest, uri=uri, cache=cache, specs=specs)


def _seed_runs(uri: str, experiment: str) -> dict[str, object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")
    return {r.data.tags["erc_bench.seed"]: r for r in runs}


def test_version_and_shipped_specs_by_name(cli) -> None:
    code, output = cli(["--version"])
    assert code == 0 and output.strip() == f"erc-bench {__version__}"
    code, output = cli(["specs"])
    assert code == 0 and "quickstart" in output and "demo/joint" in output and "ablations/text_only" in output
    assert "perf" not in output
    code, output = cli(["validate", "quickstart"])
    assert code == 0 and "OK quickstart" in output
    code, output = cli(["validate", "demo/joint"])  # extends ../quickstart.toml, resolved inside the shipped folder
    assert code == 0 and "OK demo/joint" in output
    code, output = cli(["run", "no-such-spec"])
    assert code == 2 and "no such spec file or shipped spec" in output and "quickstart" in output
    assert "Traceback" not in output


def test_shipped_specs_are_the_benchmarks_folder() -> None:
    from erc_bench.core.shipped_specs import resolve_spec, shipped_specs, specs_root

    # Editable installs read benchmarks/ itself; a wheel (tox, CI) carries a copy as package data: same files.
    repo = Path(__file__).resolve().parents[1] / "benchmarks"
    root = specs_root()
    names = {s.name for s in shipped_specs()}
    assert names == {p.relative_to(repo).with_suffix("").as_posix() for p in repo.rglob("*.toml")}
    assert (root / "quickstart.toml").read_bytes() == (repo / "quickstart.toml").read_bytes()
    assert resolve_spec("quickstart") == root / "quickstart.toml" == resolve_spec("quickstart.toml")


@pytest.fixture
def silent_server() -> object:
    """A TCP port on 127.0.0.1 that accepts connections but never answers (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def test_bad_tracking_uri_fails_fast_in_one_line(cli, tiny_spec, tmp_path, silent_server) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    for uri, expected in ((f"http://127.0.0.1:{refused_port}", "no MLflow server answered"),
                          (f"http://127.0.0.1:{silent_server}", "no MLflow server answered within 5 s"),
                          ("htp://localhost:5000", "unsupported tracking URI scheme 'htp'"),
                          (f"sqlite:///{tmp_path}/missing/dir/m.db", "does not exist")):
        started = time.monotonic()
        code, output = cli(["run", str(tiny_spec), "--tracking-uri", uri])
        assert time.monotonic() - started < 10, uri
        assert code == 2 and expected in output and "Traceback" not in output, output
        assert len(output.strip().splitlines()) == 1, output
    assert not (Path(tmp_path) / "missing").exists()
    code, output = cli(["leaderboard", "--tracking-uri", "htp://x"])
    assert code == 2 and "unsupported tracking URI scheme" in output


def test_tracking_check_accepts_a_live_server_and_stores() -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from erc_bench.tracking.check import check_tracking_uri

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        check_tracking_uri(f"http://127.0.0.1:{server.server_port}")  # any HTTP answer means a server is there
    finally:
        server.shutdown()
    check_tracking_uri("sqlite:///mlflow.db")
    check_tracking_uri("./mlruns")


def test_run_output_limit_and_plain_progress(cli, tiny_spec, tmp_path, monkeypatch) -> None:
    """One piped run: --limit, --output, progress as plain lines, no MLflow INFO chatter."""
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("ERC_BENCH_PROGRESS_SECONDS", "0")
    tiny_spec.write_text(tiny_spec.read_text().replace("seeds = [0, 1]", "seeds = [0]"))
    uri, out = f"sqlite:///{tmp_path / 'limit.db'}", tmp_path / "results.json"
    code, output = cli(["run", str(tiny_spec), "--tracking-uri", uri, "--limit", "2", "--output", str(out)])
    assert code == 0, output
    # a stage's batches (3 epochs of training and validation, then the final evaluation), as plain lines
    assert re.search(r"stage1-text evaluating, val WF1 [0-9.]+: (\d+)/\1 batches \(100%\)", output), output
    assert "INFO mlflow" not in output and "Creating initial MLflow database" not in output
    document = json.loads(out.read_text())
    assert document["experiment"] == "tiny-e2e"
    rows = {r["stage"]: r for r in document["rows"]}
    assert set(rows) == {"stage1-text", "stage1-speech", "stage2-text", "stage2-speech", "stage3-fusion"}
    fusion = rows["stage3-fusion"]
    assert set(fusion["test_weighted_f1"]) == {"0"} and 0 <= fusion["test_mean"] <= 1
    assert fusion["test_mean"] == pytest.approx(fusion["test_weighted_f1"]["0"]) and fusion["test_std"] == 0
    assert f"{100 * fusion['test_mean']:.2f}" in output  # the same numbers as the printed table
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny-e2e")
    parents = client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")
    assert [r.data.tags["erc_bench.limit"] for r in parents] == ["2"]
    runs = client.search_runs([experiment.experiment_id], "tags.`erc_bench.stage` = 'stage3-fusion'")
    assert len(runs) == 1
    for run in runs:  # 2 conversations of 6 utterances per split
        assert run.data.metrics["test/n"] == 12 and run.data.metrics["train/n"] == 12


def test_plain_progress_lines_when_not_a_terminal(capsys) -> None:
    from rich.console import Console

    from erc_bench.core.progress import PlainProgress, progress_bar

    console = Console(file=__import__("io").StringIO(), force_terminal=False)
    with progress_bar(console) as progress:
        assert isinstance(progress, PlainProgress)
    plain = PlainProgress(console, interval=0.05)
    task = plain.add_task("stage1-text", total=4)
    plain.update(task, advance=1)  # too soon after the start: no line
    time.sleep(0.06)
    plain.update(task, advance=1, description="stage1-text val WF1 0.500")
    for _ in range(2):
        plain.advance(task)
    lines = console.file.getvalue().splitlines()
    assert lines[0].startswith("stage1-text val WF1 0.500: 2/4 (50%)") and "eta" in lines[0]
    assert lines[-1].startswith("stage1-text val WF1 0.500: 4/4 (100%)") and len(lines) == 2


def test_compare_short_ids_systems_and_json(cli, trained) -> None:
    seeds = _seed_runs(trained.uri, "tiny-e2e")
    short0, short1 = seeds["0"].info.run_id[:8], seeds["1"].info.run_id[:8]
    code, output = cli(["compare", short0, short1, "--tracking-uri", trained.uri, "--resamples", "300"])
    assert code == 0, output
    assert "A = tiny-e2e/csv-seed0/stage3-fusion" in output and "12 paired utterances" in output
    assert "Downloading artifacts" not in output  # MLflow's own progress bars stay hidden

    code, output = cli(["compare", short0, short1, "--tracking-uri", trained.uri, "--resamples", "300",
                        "--format", "json"])
    assert code == 0, output
    document = json.loads(output)
    assert "csv-seed1/stage3-fusion" in document["b"] and document["n_items"] == 12
    assert document["ci_low"] <= document["delta"] <= document["ci_high"] and 0 < document["p_value"] <= 1

    code, output = cli(["compare", "tiny-e2e", "tiny-late", "--tracking-uri", trained.uri, "--resamples", "300",
                        "--format", "json"])
    assert code == 0, output
    document = json.loads(output)
    assert document["seeds"] == [0, 1] and document["method"].startswith("cluster-bootstrap (")
    per_seed = [v["wf1_a"] - v["wf1_b"] for v in document["per_seed"].values()]
    assert document["delta"] == pytest.approx(sum(per_seed) / 2) and document["n_items"] == 12
    code, output = cli(["compare", "tiny-e2e", "tiny-late", "--tracking-uri", trained.uri, "--resamples", "300"])
    assert code == 0 and "seed 0: WF1(A)" in output and "seed 1: WF1(A)" in output

    code, output = cli(["compare", "abcd", short1, "--tracking-uri", trained.uri])
    assert code == 2 and "no run in the store starts with it" in output
    code, output = cli(["compare", "tiny-e2e", short1, "--tracking-uri", trained.uri])
    assert code == 2 and "not one of each" in output


def _logged_predictions(uri: str, run: object, stage: str) -> dict[str, str]:
    """What the run logged for its test split at ``stage`` (the predictions.csv that ``compare`` reads)."""
    from erc_bench.report.compare import load_predictions

    logged = load_predictions(uri, run.info.run_id, "test", stage).rows
    return {uid: predicted for uid, (_, predicted) in logged.items()}


def test_predict_reproduces_the_runs_own_predictions(cli, trained, tmp_path) -> None:
    run = _seed_runs(trained.uri, "tiny-e2e")["1"]
    rows = list(csv.DictReader(trained.manifest.open()))
    new_input = tmp_path / "new.csv"
    with new_input.open("w", newline="") as fh:  # test conversations, labels and splits dropped
        writer = csv.DictWriter(fh, fieldnames=["conversation_id", "utterance_id", "text", "audio"])
        writer.writeheader()
        for row in rows:
            if row["split"] == "test":
                writer.writerow({k: row[k] if k != "audio" else str(trained.root / row["audio"])
                                 for k in writer.fieldnames})
    out = tmp_path / "predictions.csv"
    code, output = cli(["predict", run.info.run_id[:8], "--input", str(new_input), "--out", str(out),
                        "--cache-dir", str(trained.cache), "--tracking-uri", trained.uri])
    assert code == 0, output
    assert "12 of 12 utterances predicted (stage3-fusion" in " ".join(output.split())
    predicted = list(csv.DictReader(out.open()))
    assert [r["utterance_id"] for r in predicted] == [r["utterance_id"] for r in rows if r["split"] == "test"]
    for stage in ("stage1-text", "stage1-speech", "stage2-text", "stage2-speech", "stage3-fusion"):
        logged = _logged_predictions(trained.uri, run, stage)
        column = "predicted" if stage == "stage3-fusion" else f"predicted_{stage}"
        assert {r["utterance_id"]: r[column] for r in predicted} == {u: logged[u] for u in logged
                                                                       if u in {r["utterance_id"] for r in predicted}}
    for row in predicted:
        assert sum(float(row[f"p_{label}"]) for label in ("happy", "sad")) == pytest.approx(1.0, abs=1e-4)

    # Audio without text, and this system has no ASR component: one line, nothing written.
    folder = tmp_path / "audio" / "call1"
    folder.mkdir(parents=True)
    (folder / "a.wav").write_bytes((trained.root / rows[0]["audio"]).read_bytes())
    code, output = cli(["predict", run.info.run_id, "--input", str(folder.parent), "--out", str(tmp_path / "x.csv"),
                        "--cache-dir", str(trained.cache), "--tracking-uri", trained.uri])
    assert code == 2 and "no ASR component" in output and not (tmp_path / "x.csv").exists()
    code, output = cli(["predict", run.info.run_id, "--input", str(new_input), "--out", str(tmp_path / "y.csv"),
                        "--cache-dir", str(tmp_path / "empty-cache"), "--tracking-uri", trained.uri])
    assert code == 2 and "not in the cache" in output
