"""The ``hf-llm`` text encoder: a tiny random Llama / Qwen2 with LoRA adapters, offline, on a CPU.

LoRA trains only the adapters and the head; loss falls on a keyword corpus; the state dict the cache keeps
(adapters + head) and the pre-training folder (``save_pretrained`` / ``adapter``) reload into the same
predictions; every pooling respects padding; the base is part of the identity; the demo spec runs Stages I-III.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from erc_bench import UserError, build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["happy", "sad", "angry"]
TEXTS = ["i am so happy today", "sad", "what a wonderful day, i feel great and glad", "angry !", "okay"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from erc_bench_models.llm_tiny import make_tiny_llm

    base = tmp_path_factory.mktemp("tiny-llms")
    return {arch: make_tiny_llm(base / arch, arch, hidden=32, layers=2) for arch in ("llama", "qwen2")}


def _classifier(folder: Path, **params):  # noqa: ANN003, ANN202
    torch.manual_seed(0)
    settings = {"model": str(folder), "hidden_dim": 8, "lora_rank": 2, "lora_alpha": 4, "lora_dropout": 0.0,
                "dropout": 0.0, "max_length": 32} | params
    return build("text_encoder", "hf-llm", settings).build_labelled_classifier(LABELS)


def _keyword_corpus() -> tuple[list[str], list[int]]:
    fillers = ["today", "i feel so", "it is really", "this was very", "we are", "they look not"]
    texts, labels = [], []
    for n, filler in enumerate(fillers * 2):
        for label, word in enumerate(LABELS):
            texts.append(f"{filler} {word}" if n % 2 else f"{word} , {filler}")
            labels.append(label)
    return texts, labels


def _step(model, texts: list[str], labels: list[int], lr: float = 1e-2, steps: int = 1) -> list[float]:  # noqa: ANN001
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    gold = torch.tensor(labels)
    losses = []
    model.train()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(texts)[0], gold)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_lora_trains_only_the_adapters_and_the_head(tiny: dict[str, Path], arch: str) -> None:
    model = _classifier(tiny[arch])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith(("hidden.", "output.")) for n in trainable)
    assert any(".q_proj.lora_A." in n for n in trainable) and any(".o_proj.lora_B." in n for n in trainable)
    assert model.trainable_fraction() < 0.05
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    lora_b = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}
    _step(model, *_keyword_corpus())
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert any(not torch.equal(p, lora_b[n]) for n, p in model.named_parameters() if n in lora_b)  # B starts at 0


def test_pad_token_is_eos_when_the_tokenizer_has_none(tiny: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tiny["llama"]).pad_token is None
    tokenizer = _classifier(tiny["llama"]).tokenizer
    assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"


@pytest.mark.parametrize(("arch", "pooling"), [("llama", "last-token"), ("qwen2", "attentive")])
def test_loss_falls_on_a_keyword_corpus(tiny: dict[str, Path], arch: str, pooling: str) -> None:
    texts, labels = _keyword_corpus()
    losses = _step(_classifier(tiny[arch], pooling=pooling), texts, labels, lr=2e-2, steps=25)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("pooling", ["last-token", "mean", "attentive"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_pooling_shapes_and_padding(tiny: dict[str, Path], arch: str, pooling: str) -> None:
    model = _classifier(tiny[arch], pooling=pooling).eval()
    width = 32 * (2 if pooling == "attentive" else 1)
    with torch.no_grad():
        alone = torch.cat([model.encode([text]) for text in TEXTS])
        padded = {}
        for side in ("left", "right"):
            model.tokenizer.padding_side = side
            padded[side] = model.encode(TEXTS)
        logits, features = model(TEXTS)
    assert alone.shape == (len(TEXTS), width) and logits.shape == (len(TEXTS), 3) and features.shape == (5, 8)
    lengths = {len(model.tokenizer(t)["input_ids"]) for t in TEXTS}
    assert len(lengths) > 2  # the batch really is padded
    for side, batch in padded.items():
        assert torch.allclose(batch, alone, atol=1e-5), (side, (batch - alone).abs().max())


def test_the_state_dict_holds_only_adapters_and_head_and_reloads_the_same_predictions(
        tiny: dict[str, Path], tmp_path: Path) -> None:
    model = _classifier(tiny["qwen2"], pooling="attentive")
    _step(model, *_keyword_corpus(), steps=3)
    state = model.state_dict()
    assert set(state) == set(model.kept)
    assert not any("base_layer" in k or "embed_tokens" in k or "norm.weight" in k and "pooler" not in k
                   for k in state)
    assert sum(v.numel() for v in state.values()) < 0.05 * sum(p.numel() for p in model.parameters())
    torch.save(state, tmp_path / "state_dict.pt")
    model.eval()
    with torch.no_grad():
        before = model(TEXTS)
    fresh = _classifier(tiny["qwen2"], pooling="attentive")
    with torch.no_grad():
        assert not torch.allclose(fresh.eval()(TEXTS)[0], before[0])
    fresh.load_state_dict(torch.load(tmp_path / "state_dict.pt", weights_only=True))
    with torch.no_grad():
        after = fresh.eval()(TEXTS)
    assert torch.allclose(after[0], before[0], atol=1e-5) and torch.allclose(after[1], before[1], atol=1e-5)
    with pytest.raises(UserError, match="other lora_"):
        _classifier(tiny["qwen2"], pooling="attentive", lora_rank=4).load_state_dict(state)


def test_pretraining_folder_round_trip_through_the_adapter_param(tiny: dict[str, Path], tmp_path: Path) -> None:
    from erc_bench.core.capabilities import LoadsCheckpoint, SavesPretrained

    params = {"model": str(tiny["llama"]), "hidden_dim": 8, "lora_rank": 2, "dropout": 0.0, "lora_dropout": 0.0}
    encoder = build("text_encoder", "hf-llm", params)
    model = encoder.build_labelled_classifier(LABELS)
    assert isinstance(model, SavesPretrained) and isinstance(encoder, LoadsCheckpoint)
    _step(model, *_keyword_corpus(), steps=3)
    folder = model.save_pretrained(tmp_path / "pretrained")
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    with torch.no_grad():
        before = model.eval()(TEXTS)
    again = build("text_encoder", "hf-llm", encoder.checkpoint_params(str(folder)))
    assert again.fingerprint() != encoder.fingerprint()
    with torch.no_grad():
        same = again.build_labelled_classifier(LABELS).eval()(TEXTS)
        other = again.build_labelled_classifier(["x", "y"]).eval()(TEXTS)  # other labels: a fresh output layer
    assert torch.allclose(same[0], before[0], atol=1e-5) and torch.allclose(other[1], before[1], atol=1e-5)
    assert other[0].shape == (len(TEXTS), 2)
    moved = encoder.checkpoint_params(str(folder)) | {"model": str(tiny["qwen2"])}
    with pytest.raises(UserError, match="adapters only fit the base"):
        build("text_encoder", "hf-llm", moved).build_labelled_classifier(LABELS)


def test_the_base_model_is_part_of_the_identity(tiny: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    def fingerprint(**params) -> str:  # noqa: ANN003
        return build("text_encoder", "hf-llm", params).fingerprint()

    assert fingerprint(model=str(tiny["llama"])) != fingerprint(model=str(tiny["qwen2"]))
    copy = Path(shutil.copytree(tiny["llama"], tmp_path / "copy"))
    assert fingerprint(model=str(copy)) == fingerprint(model=str(tiny["llama"]))  # content, not the path
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert fingerprint(model=str(copy)) != fingerprint(model=str(tiny["llama"]))
    hub = fingerprint(model="Qwen/Qwen2.5-7B-Instruct")
    assert hub != fingerprint(model="Qwen/Qwen2.5-7B-Instruct", revision="abc123")
    assert hub != fingerprint(model="meta-llama/Llama-3.1-8B-Instruct")
    assert hub != fingerprint(model="Qwen/Qwen2.5-7B-Instruct", pooling="mean")


def test_load_in_4bit_is_an_option_with_a_one_line_error(tiny: dict[str, Path], monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    with pytest.raises(UserError) as raised:
        _classifier(tiny["llama"], load_in_4bit=True)
    assert ("bitsandbytes" in str(raised.value) or "CUDA" in str(raised.value)) and "\n" not in str(raised.value)


def test_target_modules_that_match_nothing_are_one_line(tiny: dict[str, Path]) -> None:
    with pytest.raises(UserError, match="target_modules") as raised:
        _classifier(tiny["qwen2"], target_modules=["query", "value"])  # BERT's names, not a causal LM's
    assert "\n" not in str(raised.value)


def test_gradient_checkpointing_trains_the_same(tiny: dict[str, Path]) -> None:
    texts, labels = _keyword_corpus()
    plain = _step(_classifier(tiny["llama"]), texts, labels, steps=2)
    model = _classifier(tiny["llama"], gradient_checkpointing=True)
    assert any(getattr(m, "gradient_checkpointing", False) for m in model.modules())
    checkpointed = _step(model, texts, labels, steps=2)
    assert plain == pytest.approx(checkpointed, rel=1e-4)


@pytest.mark.slow
def test_demo_spec_runs_stages_one_to_three_and_predict_reproduces_it(tiny: dict[str, Path], tmp_path: Path) -> None:
    """The shipped demo spec, pointed at the tiny Qwen2, through the CLI: Stages I-III train, the cache keeps the
    adapters and head (no base weights), and ``erc-bench predict`` rebuilds the system and gives every stage's
    logged test predictions again."""
    import csv
    import json

    from mlflow.tracking import MlflowClient

    from erc_bench.report.compare import load_predictions

    spec = ROOT / "benchmarks" / "demo" / "hf_llm.toml"
    cache, uri = tmp_path / "cache", f"sqlite:///{tmp_path / 'mlflow.db'}"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "erc_bench.cli", *args, "--cache-dir", str(cache),
                               "--tracking-uri", uri], capture_output=True, text=True, timeout=900)

    run = cli("run", str(spec), "--limit", "2", "--set", f"model.text_encoder.params.model={tiny['qwen2']}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summaries = {json.loads(p.read_text())["stage"]: p.parent for p in cache.rglob("result.json")}
    assert {"stage1-text", "stage2-text", "stage3-fusion"} <= set(summaries)
    text_state = torch.load(summaries["stage1-text"] / "state_dict.pt", weights_only=True)
    assert any("lora_A" in k for k in text_state) and any(k.startswith("output.") for k in text_state)
    assert not any("base_layer" in k or "embed_tokens" in k for k in text_state)

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("demo-hf_llm")
    seed_run = client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")[0]
    inputs = tmp_path / "new.csv"
    with inputs.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["conversation_id", "utterance_id", "text", "audio"])
        writer.writeheader()
        for conversation in build("dataset", "demo").load().splits["test"][:2]:
            for u in conversation.utterances:
                writer.writerow({"conversation_id": conversation.id, "utterance_id": u.id, "text": u.text,
                                 "audio": u.audio.path if u.audio else ""})
    out = tmp_path / "predictions.csv"
    made = cli("predict", seed_run.info.run_id, "--input", str(inputs), "--out", str(out))
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    predicted = {r["utterance_id"]: r for r in csv.DictReader(out.open())}
    for stage in ("stage1-text", "stage2-text", "stage3-fusion"):
        logged = load_predictions(uri, seed_run.info.run_id, "test", stage).rows
        both = [u for u in logged if u in predicted]
        assert both, stage
        column = "predicted" if stage == "stage3-fusion" else f"predicted_{stage}"
        assert {u: predicted[u][column] for u in both} == {u: logged[u][1] for u in both}, stage


def test_llm_guided_pretraining_saves_adapters_that_stage_one_starts_from(tiny: dict[str, Path], tmp_path: Path,
                                                                          register_plugin) -> None:
    """``run_pretrain`` with hf-llm (the toy corpus of ``test_pretrain``): the checkpoint holds adapters and head,
    not the base, and ``checkpoint_params`` builds a classifier that starts from them."""
    import numpy as np
    import soundfile as sf
    from test_pretrain import SENTENCES, ToyASR, ToyCorpus, section

    from erc_bench.core.cache import Cache
    from erc_bench.core.hookspecs import hookimpl
    from erc_bench.core.spec import ComponentRef
    from erc_bench.recipes.merits_l.pretrain import run_pretrain

    for i in range(len(SENTENCES)):
        sf.write(tmp_path / f"u{i}.wav", np.full((i + 1) * 1600, 0.01, dtype=np.float32), 16000)
    register_plugin("toy-pretrain", erc_bench_register_datasets=hookimpl(lambda register: register(ToyCorpus)),
                    erc_bench_register_asr=hookimpl(lambda register: register(ToyASR)))
    params = {"model": str(tiny["llama"]), "hidden_dim": 8, "lora_rank": 2, "max_length": 16}
    result = run_pretrain(section(tmp_path), ComponentRef(plugin="hf-llm", params=params), Cache(tmp_path / "cache"),
                          device="cpu")
    folder = Path(result.checkpoint_dir)
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    encoder = build("text_encoder", "hf-llm", params)
    start = build("text_encoder", "hf-llm", encoder.checkpoint_params(str(folder)))
    fresh, pretrained = encoder.build_labelled_classifier(LABELS), start.build_labelled_classifier(LABELS)
    lora = [k for k in pretrained.state_dict() if "lora_B" in k]
    assert lora and all(torch.equal(fresh.state_dict()[k], torch.zeros_like(fresh.state_dict()[k])) for k in lora)
    assert any(not torch.equal(pretrained.state_dict()[k], fresh.state_dict()[k]) for k in lora)
