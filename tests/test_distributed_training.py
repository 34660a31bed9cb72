"""Training that scales: 2-process data-parallel Stage I text fine-tuning on CPU (gloo, launched by torchrun as
``accelerate launch --multi_gpu`` does on GPUs) equals one process with the same global batch; gradient
accumulation equals the unsplit batch; warm-up / decay, early stop and frozen encoder layers behave as
configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from erc_bench.core.plugin_host import build
from erc_bench.core.spec import StageTraining
from erc_bench.recipes.merits_l.stages import fine_tune_text
from erc_bench.train.optimisation import lr_factor

sys.path.insert(0, str(Path(__file__).parent))
from ddp_worker import TINY_ENCODER  # noqa: E402
from test_engine_tracking import _free_port  # noqa: E402
from test_recipe_end_to_end import write_tiny_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).parent / "ddp_worker.py"
BASE = {"epochs": 3, "batch_size": 8, "lr": 1e-3}
WEIGHT_TOLERANCE = 1e-4  # measured: 1.05e-5 max |w_ddp - w_single| after 18 AdamW updates


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny"))


def _train(manifest: Path, training: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    data = build("dataset", "csv", {"manifest": str(manifest)}).load()
    texts = {u.id: u.text for split in data.splits for u in data.utterances(split)}
    result, model = fine_tune_text(build("text_encoder", "hf-text", TINY_ENCODER), data, texts,
                                   StageTraining(**training), seed=0, device="cpu", keep_features=False)
    return {"history": result.history, "metrics": result.metrics}, model.state_dict()


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


@pytest.mark.slow
def test_two_process_ddp_equals_one_process_with_the_same_global_batch(corpus: Path, tmp_path: Path) -> None:
    single, single_state = _train(corpus, BASE)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                       os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
               "127.0.0.1", "--master_port", str(_free_port()), str(WORKER), str(corpus), str(tmp_path / "ddp"),
               json.dumps(BASE)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = json.loads((tmp_path / "ddp" / "result.json").read_text())
    assert ddp["world_size"] == 2
    assert _max_difference(single_state, torch.load(tmp_path / "ddp" / "state.pt")) < WEIGHT_TOLERANCE
    for a, b in zip(single["history"], ddp["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_weighted_f1"] == b["val_weighted_f1"]
    assert single["metrics"]["test"]["weighted_f1"] == ddp["metrics"]["test"]["weighted_f1"]


@pytest.mark.slow
def test_two_process_ddp_pretraining_equals_one_process(corpus: Path, tmp_path: Path) -> None:
    """LLM-guided pre-training fine-tunes through the same loop, so it is sharded under a launcher too."""
    training = {"pretrain": True, "epochs": 3, "batch_size": 8, "lr": 1e-3}
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                       os.environ.get("PYTHONPATH", "")])}
    runs = {}
    for name, launcher in (("one", []), ("ddp", ["-m", "torch.distributed.run", "--nproc_per_node", "2",
                                                  "--master_addr", "127.0.0.1", "--master_port", str(_free_port())])):
        done = subprocess.run([sys.executable, *launcher, str(WORKER), str(corpus), str(tmp_path / name),
                               json.dumps(training)], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[name] = json.loads((tmp_path / name / "result.json").read_text())
    assert runs["ddp"]["world_size"] == 2 and runs["one"]["world_size"] == 1
    assert _max_difference(torch.load(tmp_path / "one" / "state.pt"),
                           torch.load(tmp_path / "ddp" / "state.pt")) < WEIGHT_TOLERANCE
    for a, b in zip(runs["one"]["history"], runs["ddp"]["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_accuracy"] == b["val_accuracy"]


def test_gradient_accumulation_equals_the_whole_batch(corpus: Path) -> None:
    whole, whole_state = _train(corpus, BASE)
    split, split_state = _train(corpus, BASE | {"grad_accum_steps": 2})
    assert _max_difference(whole_state, split_state) < WEIGHT_TOLERANCE
    assert [h["val_weighted_f1"] for h in whole["history"]] == [h["val_weighted_f1"] for h in split["history"]]


def test_train_layers_freezes_the_encoder_below_the_top_n(corpus: Path) -> None:
    """Same seed, same initial weights, one epoch at two learning rates: frozen tensors stay equal (both still
    the initial weights), trained ones differ."""
    for train_layers, trained_layers in ((0, set()), (1, {"1"})):
        states = [_train(corpus, BASE | {"epochs": 1, "lr": lr, "train_layers": train_layers})[1]
                  for lr in (1e-3, 3e-3)]
        moved = {k for k in states[0] if not torch.equal(states[0][k], states[1][k])}
        layers = {k.split(".")[3] for k in moved if k.startswith("encoder.encoder.layer.")}
        assert layers == trained_layers, sorted(moved)
        assert not any(k.startswith("encoder.embeddings.") for k in moved)
        assert any(k.startswith("output.") for k in moved)  # the head always trains


def test_warm_up_then_linear_decay() -> None:
    factors = [lr_factor(u, total=10, warmup=2, schedule="linear") for u in range(10)]
    assert factors[:2] == [0.5, 1.0]
    assert factors[2:] == sorted(factors[2:], reverse=True) and factors[-1] == pytest.approx(0.125)
    assert [lr_factor(u, 10, 0, "constant") for u in range(3)] == [1.0, 1.0, 1.0]


def test_early_stop_ends_training_after_patience_epochs(corpus: Path) -> None:
    result, _ = _train(corpus, BASE | {"epochs": 30, "lr": 1e-6, "early_stop_patience": 2})
    assert len(result["history"]) < 30
    lrs = [h["lr"] for h in result["history"]]
    assert lrs == sorted(lrs) or len(set(lrs)) == 1
