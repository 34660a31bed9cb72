"""The fault matrix: every way a provider or the process can fail, and nothing answered is lost.

Each case runs the official SDK against the loopback server in ``llm_servers``;
the kill cases run a real labelling process (``label_worker.py``) and kill it
with a real SIGKILL or SIGTERM. "Nothing lost" is checked against the server's
own count of answers written in full: every one of them is in the label store,
except at most the requests in flight at the moment of a kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from erc_bench_labellers.llm import AuthenticationFailed
from erc_bench_labellers.store import LabelStore
from llm_servers import LLMServer

from erc_bench import build

KEY_ENV = "ERC_TEST_LLM_KEY"
KEY = "sk-loopback-fault-secret-0123456789"
TEXTS = ["lovely", "dreadful", "plain", "sunny", "grim"]
ANSWERS = {"lovely": "positive", "dreadful": "negative", "sunny": "Positive.", "grim": "negative"}
WANT = ["positive", "negative", "neutral", "positive", "negative"]
WORKER = Path(__file__).with_name("label_worker.py")


@pytest.fixture()
def server(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with LLMServer() as srv:
        srv.answers = dict(ANSWERS)
        yield srv


def make(provider: str, server: LLMServer, db: Path, **params):
    url = server.url + "/v1" if provider == "openai" else server.url
    return build("labeller", provider, {"base_url": url, "api_key_env": KEY_ENV, "cache_path": str(db),
                                        "retry_base_delay": 0.01, "concurrency": 1, "batch_poll_interval": 0.05,
                                        **params})


def stored(db: Path) -> int:
    store = LabelStore(db)
    try:
        return store._conn().execute("SELECT COUNT(*) FROM labels").fetchone()[0]
    finally:
        store.close()


# ------------------------------------------------------------------ transport and body faults
@pytest.mark.parametrize("provider", ["openai", "anthropic", "together"])
@pytest.mark.parametrize("fault, min_wait", [
    (("reset",), 0.0), (("wrong-shape",), 0.0), (("malformed",), 0.0), (("408",), 0.0), (("409",), 0.0),
    (("500",), 0.0), (("429-ms", 300), 0.3), (("429-date", 2), 1.0)])
def test_transient_fault_is_retried_and_every_answer_is_stored(provider, fault, min_wait, server, tmp_path) -> None:
    server.faults = [("slow", 0), fault]  # the second request meets the fault
    labeller = make(provider, server, tmp_path / "l.db")
    started = time.monotonic()
    outcomes = labeller.label(TEXTS)
    assert [o.label for o in outcomes] == WANT
    assert time.monotonic() - started >= min_wait  # retry-after-ms / HTTP-date Retry-After honoured
    assert labeller.usage.retries == 1 and server.chat_requests() == len(TEXTS) + 1
    assert stored(tmp_path / "l.db") == server.answered == len(TEXTS)


# -------------------------------------------------------------------------- authentication
@pytest.mark.parametrize("provider", ["openai", "anthropic", "together"])
@pytest.mark.parametrize("status", ["401", "403"])
def test_authentication_error_stops_labelling_at_once_keeping_earlier_answers(provider, status, server,
                                                                              tmp_path) -> None:
    server.faults = [("slow", 0)] * 3 + [(status,)]
    texts = [f"line {i}" for i in range(40)]
    with pytest.raises(AuthenticationFailed) as error:
        make(provider, server, tmp_path / "l.db").label(texts)
    message = str(error.value)
    assert "\n" not in message and status in message and KEY_ENV in message and KEY not in message
    assert server.chat_requests() == 4  # not one request after the refusal
    assert stored(tmp_path / "l.db") == server.answered == 3


def test_authentication_error_with_concurrency_sends_nothing_new(server, tmp_path) -> None:
    # A second per request: a worker that started before the 401 reached the client cannot finish and start
    # another one inside that window, even on a loaded CI machine (0.05 s, and once in a few full runs 0.5 s,
    # let one slip through).
    server.latency = 1.0
    server.faults = [("slow", 0)] * 4 + [("401",)]
    with pytest.raises(AuthenticationFailed):
        make("openai", server, tmp_path / "l.db", concurrency=4).label([f"line {i}" for i in range(200)])
    assert server.chat_requests() <= 4 + 1 + 4  # at most the requests already in flight
    assert stored(tmp_path / "l.db") == server.answered


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_authentication_error_in_batch_mode_is_one_line_and_submits_nothing(provider, server, tmp_path) -> None:
    server.required_key = "sk-the-right-key-000000000000"
    with pytest.raises(AuthenticationFailed, match="refused the API key") as error:
        make(provider, server, tmp_path / "l.db", mode="batch").label(TEXTS)
    assert "\n" not in str(error.value) and KEY not in str(error.value) and KEY_ENV in str(error.value)
    assert not server.batches and server.answered == 0


# ----------------------------------------------------------------------------------- batches
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("end", ["expired", "cancelled"])
def test_expired_or_cancelled_batch_keeps_what_it_answered_and_rerun_asks_only_the_rest(provider, end, server,
                                                                                        tmp_path) -> None:
    server.batch_end, server.batch_partial = end, 3
    server.fault_for["grim"] = ("500",)  # an error_file_id row (Anthropic: an errored result)
    first = make(provider, server, tmp_path / "l.db", mode="batch").label(TEXTS)
    assert [o.label for o in first[:3]] == WANT[:3] and [o.status for o in first[3:]] == ["failed", "failed"]
    assert stored(tmp_path / "l.db") == server.answered == 3
    server.batch_end, server.batch_partial = "completed", None
    del server.fault_for["grim"]
    labeller = make(provider, server, tmp_path / "l.db", mode="batch")
    assert labeller.estimate(TEXTS).requests == 2  # only the unanswered are asked again
    assert [o.label for o in labeller.label(TEXTS)] == WANT
    assert stored(tmp_path / "l.db") == server.answered == len(TEXTS)


# ------------------------------------------------------------------------------- process kills
def _spawn(provider: str, server: LLMServer, db: Path, n: int, mode: str = "online", concurrency: int = 1,
           kill_at: str = "") -> subprocess.Popen[str]:
    url = server.url + "/v1" if provider == "openai" else server.url
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    args = [sys.executable, str(WORKER), provider, url, str(db), str(n), mode, str(concurrency)]
    return subprocess.Popen([*args, *([kill_at] if kill_at else [])], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the labelling process never got there"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("provider, sig, concurrency", [
    ("openai", signal.SIGKILL, 4), ("anthropic", signal.SIGTERM, 1), ("together", signal.SIGKILL, 1)])
def test_killed_online_labelling_loses_no_answer_and_rerun_pays_only_the_rest(provider, sig, concurrency, server,
                                                                              tmp_path) -> None:
    server.latency = 0.02
    db, n = tmp_path / "l.db", 400
    worker = _spawn(provider, server, db, n, concurrency=concurrency)
    try:
        _wait_for(lambda: server.answered >= 25)
        worker.send_signal(sig)
        assert worker.wait(timeout=30) != 0
    finally:
        worker.kill()
        worker.communicate()
    answered, kept = server.answered, stored(db)
    assert answered < n and answered - concurrency <= kept <= answered  # at most the ones in flight
    rerun = make(provider, server, db, concurrency=8)
    rerun.label([f"utterance number {i}" for i in range(n)])
    assert rerun.usage.requests == n - kept and stored(db) == n


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai"])
def test_kill_while_a_batch_runs_resumes_it_without_paying_twice(provider, server, tmp_path) -> None:
    server.hold_batches = True
    db = tmp_path / "l.db"
    worker = _spawn(provider, server, db, 30, mode="batch")
    try:
        _wait_for(lambda: sum(v for k, v in server.hits.items() if k.startswith("GET")) >= 2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        worker.kill()
        worker.communicate()
    server.hold_batches = False
    labeller = make(provider, server, db, mode="batch")
    labeller.label([f"utterance number {i}" for i in range(30)])
    creates = server.hits["POST /v1/batches"] + server.hits["POST /v1/messages/batches"]
    assert creates == 1 and stored(db) == server.answered == 30


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_kill_right_after_the_batch_is_marked_done_keeps_its_labels(provider, server, tmp_path) -> None:
    db = tmp_path / "l.db"
    worker = _spawn(provider, server, db, 30, mode="batch", kill_at="batch-done")
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL, err
    assert stored(db) == server.answered == 30  # saved before the journal said "done"
    assert LabelStore(db).open_batches(provider, make(provider, server, db, mode="batch").fingerprint()) == []
