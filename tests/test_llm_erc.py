"""``llm-erc`` end to end through the CLI against a real loopback server speaking OpenAI chat completions.

The server (``llm_servers.ERCServer``) answers by a rule over the target utterance, and unparsable text for
some; the checks: the dry run sends nothing and predicts the requests the run then sends, every prompt is
asked once (zero-shot prompts once for all seeds; few-shot prompts once per seed), the answers are parsed
strictly, garbage falls back to the train majority label and is counted beside the scores, the leaderboard
names the system, compare and the HTML report take it, and a SIGKILLed run resumes asking only the rest.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from llm_servers import ERCServer

from erc_bench import build
from erc_bench.features.inputs import first_conversations

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "benchmarks" / "demo" / "llm_erc.toml")
RULES = {"sad": "sad", "heartbroken": "Sad.", "hopeless": "Label: sad", "stupid": "<angry>", "idiot": "angry",
         "cheated": "Angry", "delicious": "happy", "wonderful": "happy"}
GARBAGE = ("report", "meeting")
LIMIT = 4


def _answer(text: str, majority: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in GARBAGE):
        return majority
    return next((RULES[w].strip("<>.").removeprefix("Label: ").lower() for w in RULES if w in lowered), "neutral")


def _prompts(server: ERCServer) -> Counter[str]:
    return Counter(json.dumps(r["messages"]) for r in server.requests)


def _args(server: ERCServer, tmp_path: Path, *extra: str) -> list[str]:
    return ["--set", f"system.params.base_url={server.url}/v1", "--tracking-uri", f"sqlite:///{tmp_path / 'ml.db'}",
            "--cache-dir", str(tmp_path / "cache"), "--limit", str(LIMIT), "--set", "benchmark.seeds=[0, 1]", *extra]


def test_llm_erc_runs_end_to_end_through_the_cli(cli, tmp_path, caplog) -> None:
    from mlflow.tracking import MlflowClient

    data = first_conversations(build("dataset", "demo", {}).load(), LIMIT)
    train = Counter(u.label for c in data.splits["train"] for u in c.utterances)
    majority = max(data.labels, key=lambda label: (train[label], -data.labels.index(label)))
    test = [u for c in data.splits["test"] for u in c.utterances]
    with ERCServer(RULES, GARBAGE) as server:
        code, out = cli(["run", SPEC, "--dry-run", *_args(server, tmp_path)])
        assert code == 0, out
        planned = int(re.search(r"dry run: (\d+) requests", out).group(1))
        assert server.chat_requests() == 0 and "tokens ESTIMATED at ~4 characters" in out and "[demo-model" in out

        code, out = cli(["run", SPEC, *_args(server, tmp_path)])
        assert code == 0, out
        asked = _prompts(server)
        assert server.chat_requests() == planned == len(asked) and max(asked.values()) == 1  # 2 seeds, paid once
        assert "unparsable answers got the majority label" in caplog.text
        for request in server.requests:  # the window: at most 12 turns before the target, and the target last
            text = request["messages"][0]["content"]
            window = text.split(" ### ")[1]
            assert window.count("\t ") <= 12 and window.endswith(text.split("emotional label of <")[1].split(">")[0])

        client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ml.db'}")
        experiment = client.get_experiment_by_name("demo-llm_erc")
        seed_runs = client.search_runs([experiment.experiment_id], "tags.erc_bench.run_kind = 'dataset-seed'")
        assert {r.data.tags["erc_bench.system"] for r in seed_runs} == {"LLM zero-shot (demo-model)"}
        want = [_answer(u.text, majority) for u in test]
        garbage = sum(any(w in u.text.lower() for w in GARBAGE) for u in test)
        for run in seed_runs:
            metrics = run.data.metrics
            assert metrics["system/test/llm_unparsable"] == garbage == metrics["system/test/llm_fallbacks"]
            assert metrics["system/test/llm_failed"] == 0
            accuracy = sum(w == u.label for w, u in zip(want, test, strict=True)) / len(test)
            assert metrics["system/test/accuracy"] == pytest.approx(accuracy)

        # 2-shot: demonstrations from the train split, drawn per seed, so each seed's prompts are new requests
        before = server.chat_requests()
        code, out = cli(["run", SPEC, *_args(server, tmp_path, "--set", "system.params.shots=2",
                                             "--set", 'benchmark.name="demo-llm_erc-2shot"')])
        assert code == 0, out
        shot_requests = server.requests[before:]
        assert len(shot_requests) == 2 * planned and max(_prompts(server).values()) == 1
        train_texts = {u.text.strip() for c in data.splits["train"] for u in c.utterances}
        for request in shot_requests:
            shown = re.findall(r'<[^:<>]+:"([^"]*)"> is \w+', request["messages"][0]["content"])
            assert len(shown) == 2 and set(shown) <= train_texts

        # the answer store, not the stage cache: another cache folder with the same store asks nothing
        store = str(tmp_path / "cache" / "systems" / "llm-erc" / "answers.sqlite")
        before = server.chat_requests()
        code, out = cli(["run", SPEC, *_args(server, tmp_path)[:-6], "--cache-dir", str(tmp_path / "other"),
                         "--limit", str(LIMIT), "--set", "benchmark.seeds=[0, 1]",
                         "--set", f"system.params.cache_path={store}"])
        assert code == 0, out
        assert server.chat_requests() == before

    uri = f"sqlite:///{tmp_path / 'ml.db'}"
    code, board = cli(["leaderboard", "--tracking-uri", uri, "--format", "csv"])
    assert code == 0, board
    systems = {r["system"].split(" @")[0] for r in csv.DictReader(board.splitlines()) if r["source"] == "measured"}
    assert {"LLM zero-shot (demo-model)", "LLM 2-shot (demo-model)"} <= systems
    code, compared = cli(["compare", "demo-llm_erc", "demo-llm_erc-2shot", "--tracking-uri", uri,
                          "--resamples", "200", "--format", "json"])
    assert code == 0 and '"n_items"' in compared, compared
    for experiment, name in (("demo-llm_erc", "LLM zero-shot (demo-model)"), ("demo-llm_erc-2shot", "LLM 2-shot")):
        report = tmp_path / "report.html"
        code, out = cli(["report", "--experiment", experiment, "--tracking-uri", uri, "--out", str(report)])
        assert code == 0, out
        assert name in report.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_killed_run_resumes_and_pays_only_for_what_was_not_answered(cli, tmp_path) -> None:
    concurrency = 4
    with ERCServer(RULES, GARBAGE, latency=0.05) as server:
        args = _args(server, tmp_path, "--set", f"system.params.concurrency={concurrency}")
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
        worker = subprocess.Popen([sys.executable, "-m", "erc_bench.cli", "run", SPEC, *args], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while server.answered < 20 and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            assert worker.wait(timeout=30) == -signal.SIGKILL
        finally:
            worker.kill()
            worker.communicate()
        first = server.chat_requests()
        assert 20 <= first
        code, out = cli(["run", SPEC, *args])
        assert code == 0, out
        asked = _prompts(server)
        code, dry = cli(["run", SPEC, "--dry-run", *args])
        planned = int(re.search(r"\((\d+) of (\d+) distinct prompts", dry).group(2))
        assert len(asked) == planned and "0 requests" in dry  # everything answered and stored
        assert sum(n - 1 for n in asked.values()) <= concurrency  # asked twice: at most those in flight at the kill


def test_spoken_cues_are_measured_from_the_demo_audio(cli, tmp_path) -> None:
    """``spoken_cues = true`` on a corpus with audio: every turn of every prompt carries a description made from
    its own clip, and the measures are what they claim (pitch within the pitch tracker's 60-400 Hz in log Hz,
    loudness a log energy, rate in words per second): read from the wrong place in the acoustic-stats vector,
    they would not be."""
    import math

    from erc_bench_labellers.erc_cues import CueMeter

    with ERCServer(RULES, GARBAGE) as server:
        code, out = cli(["run", SPEC, *_args(server, tmp_path), "--set", "system.params.spoken_cues=true",
                         "--set", "benchmark.seeds=[0]"])
        assert code == 0, out
        assert server.requests
        for request in server.requests:
            window = request["messages"][0]["content"].split(" ### ")[1]
            turns = window.split("\t ")
            cue = (r'"\s\[(low|medium|high) pitch with (little|moderate|much) variation, '
                   r"(quiet|moderate volume|loud), (slow|moderate pace|fast)\]$")
            assert [t for t in turns if not re.search(cue, t)] == []
    measured = json.loads((tmp_path / "cache" / "systems" / "llm-erc" / "cues.json").read_text())
    values = [v for v in measured.values() if isinstance(v, list)]
    assert len(values) == len(measured) > 10
    pitches = [v[0] for v in values if v[0] is not None]
    assert len(pitches) > 0.9 * len(values)
    assert all(math.log(60) <= p <= math.log(400) for p in pitches)
    assert all(v[2] < 0 and 0 < v[3] < 15 for v in values)  # log energy of [-1, 1] audio; words per second
    assert len({round(p, 3) for p in pitches}) > len(pitches) // 2  # measured per clip, not one constant
    assert CueMeter(str(tmp_path / "cache" / "systems" / "llm-erc")).known == measured  # reread, not redecoded
