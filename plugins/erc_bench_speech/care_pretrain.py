"""CARE pre-training (Dutta & Ganapathy), re-implemented from the authors' description and code.

Objective (as ``pretraining/train_pase.py``): the semantic branch's mean-pooled output is
regressed (MSE) onto a frozen text encoder's sentence embedding of the ASR transcript; the
acoustic branch's frame-level output (after its 768 -> D projection) is regressed (MSE) onto
frame-level acoustic targets. Optimisation as the authors': two AdamW groups (shared trunk
layers + the semantic branch's convolution blocks; acoustic layers + projection), the front
end and the RoBERTa layers frozen, the acoustic loss kept out of the shared trunk (here by
detaching the trunk output that feeds the acoustic branch, which gives the trunk exactly the
gradient the authors' zeroing hook leaves it), lr 1e-5, betas (0.9, 0.99), eps 1e-6.

The project's additions: gradient clipping per group (the authors define ``MAX_NORM = 10`` but
never apply it), a linear projection of the pooled output when the text encoder's width differs
from the trunk's (RoBERTa-base and WavLM-base are both 768-d, so the authors need none),
padded frames masked out of the acoustic loss, validation on a held-out split with the best
validation loss exported, atomic resumable checkpoints and MLflow logging.

Engine parts it runs on (public API only): the optimiser step is the engine's ``UpdatePlan`` (AdamW, schedule,
precision, clipping; the two optimisers become one AdamW with a param group per branch, each group clipped on its
own: the same update), and the MLflow run is ``Tracker.run`` (Ctrl-C / SIGTERM end it KILLED, an error FAILED; a
resumed job reopens the run it began). The epoch loop ``fit`` is not used: it trains a classifier by epochs and
keeps the epoch of best validation WF1, while this objective is a regression counted in steps, validated and
checkpointed every N steps, and resumable mid-epoch.

Output: ``section.output`` holds ``care_config.json`` + ``model.safetensors`` (the best
validation step), which the ``care`` speech encoder loads as ``checkpoint = "<folder>"``, and
``training/`` with the resumable state and the loss history.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erc_bench import Cache, StageTraining, UserError, canonical_json, digest_text
from erc_bench_speech.care_pretrain_spec import CarePretrainSection, CarePretrainSpec

STATE_DIR, STATE_FILE, HISTORY_FILE = "training", "state.pt", "history.json"
COMMON_GROUP = ("audio_model.", "downblock.", "upblock.")
ACOUSTIC_GROUP = ("dual_model.", "linear.")


@dataclass
class CarePretrainResult:
    checkpoint_dir: Path
    steps: int
    best_step: int
    best_val_loss: float
    history: list[dict[str, float]]
    resumed_from: int = 0
    n_train: int = 0
    n_val: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    seconds_per_step: float = 0.0
    run_id: str | None = None


def _atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _training_digest(spec: CarePretrainSpec) -> str:
    """What makes two runs the same run (resuming a different one would mix them)."""
    return digest_text(canonical_json(spec.care_pretrain.model_dump(exclude={"device", "threads", "output",
                                                                          "log_every", "checkpoint_every"})))


def _losses(net: Any, projection: Any, batch: tuple[Any, ...], device: Any) -> tuple[Any, Any]:
    import torch

    from erc_bench_speech.care_targets import resample_frames

    wavs, text, targets, mask = (t.to(device) for t in batch)
    out = net.branches(wavs, detach_acoustic=True)
    semantic = torch.nn.functional.mse_loss(projection(out["pooled"]), text)
    predicted = out["acoustic"]
    frames = predicted.shape[1]
    targets = resample_frames(targets, frames)
    mask = resample_frames(mask.unsqueeze(-1), frames).squeeze(-1).gt(0.5).to(predicted.dtype)
    squared = (predicted - targets).pow(2).mean(dim=-1)
    acoustic = (squared * mask).sum() / mask.sum().clamp(min=1.0)
    return semantic, acoustic


def _validate(net: Any, projection: Any, examples: Any, section: Any, device: Any) -> tuple[float, float]:
    import torch

    from erc_bench_speech.care_pretrain_data import collate

    net.eval()
    totals, count = [0.0, 0.0], 0
    with torch.no_grad():
        for start in range(0, len(examples.val), section.batch_size):
            chunk = examples.val[start:start + section.batch_size]
            semantic, acoustic = _losses(net, projection, collate(chunk, section.crop_seconds, examples.target_rate),
                                         device)
            totals[0] += semantic.item() * len(chunk)
            totals[1] += acoustic.item() * len(chunk)
            count += len(chunk)
    net.train()
    return totals[0] / count, totals[1] / count


def _tracker(spec: CarePretrainSpec, uri: str | None) -> Any:
    from erc_bench import Tracker

    return Tracker(uri or spec.tracking.uri, spec.tracking.experiment or "care-pretrain")


def _settings(section: CarePretrainSection) -> StageTraining:
    """The section's optimiser settings in the engine's terms: constant rate, no warm-up, one update per batch."""
    return StageTraining(epochs=1, lr=section.lr, batch_size=section.batch_size, weight_decay=section.weight_decay,
                         max_grad_norm=section.max_grad_norm, precision=section.precision)


def _saved_state(path: Path, digest: str, out: Path) -> dict[str, Any] | None:
    import torch

    if not path.is_file():
        return None
    saved: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    if saved["digest"] != digest:
        raise UserError(f"care-pretrain: {out} holds a run of different settings; choose another output or delete it")
    if "plan" not in saved:
        raise UserError(f"care-pretrain: {path} was written by an older erc-bench (two optimisers); finish it with "
                        "that version, or delete the folder to start again")
    return saved


def run_care_pretrain(spec: CarePretrainSpec, cache: Cache, tracking_uri: str | None = None, progress: Any = None,
                      say: Any = print) -> CarePretrainResult:
    """Train (or resume) and export the best-validation CARE checkpoint folder."""
    import torch

    from erc_bench import resolve_device

    section = spec.care_pretrain
    if section.threads:
        torch.set_num_threads(section.threads)
    device = resolve_device(section.device)
    out = Path(section.output).expanduser()
    state_path = out / STATE_DIR / STATE_FILE
    saved = _saved_state(state_path, _training_digest(spec), out)
    tracker = _tracker(spec, tracking_uri)
    # the run is open from the first heavy step on: a kill or an error while reading the corpus is recorded too
    with tracker.run(f"care-pretrain-{out.name}", resume=saved["run_id"] if saved else None) as run_id:
        result = _train(spec, cache, device, saved, tracker, run_id, progress, say)
    return result


def _train(spec: CarePretrainSpec, cache: Cache, device: Any, saved: dict[str, Any] | None, tracker: Any,
           run_id: str, progress: Any, say: Any) -> CarePretrainResult:
    import numpy as np
    import torch
    from torch import nn

    from erc_bench import UpdatePlan, progress_callback
    from erc_bench_speech.care_checkpoint import save_checkpoint_dir
    from erc_bench_speech.care_pretrain_data import (
        batch_indexes,
        build_network,
        collate,
        load_examples,
        steps_per_epoch,
    )

    section = spec.care_pretrain
    out = Path(section.output).expanduser()
    state_path = out / STATE_DIR / STATE_FILE
    examples = load_examples(section, cache, device, progress)
    torch.manual_seed(section.seed)
    net, config = build_network(section, int(examples.train[0].acoustic.shape[1]))
    text_dim, hidden = int(examples.train[0].text.shape[0]), net.hidden_size
    projection = nn.Linear(hidden, text_dim) if text_dim != hidden else nn.Identity()
    net.to(device).train()
    projection.to(device)
    groups: dict[str, list[Any]] = {"common": list(projection.parameters()), "acoustic": []}
    for name, param in net.named_parameters():
        group = "common" if name.startswith(COMMON_GROUP) else "acoustic" if name.startswith(ACOUSTIC_GROUP) else None
        param.requires_grad_(group is not None)
        if group:
            groups[group].append(param)
    per_epoch = steps_per_epoch(len(examples.train), section.batch_size)
    total = section.steps or per_epoch * (section.epochs or 1)
    plan = UpdatePlan([], _settings(section), per_epoch, device, clip_groups=[groups["common"], groups["acoustic"]],
                      total_updates=total, betas=section.betas, eps=section.eps)
    step, best_val, best_step, history = 0, float("inf"), 0, []
    if saved is not None:
        net.load_state_dict(saved["network"])
        projection.load_state_dict(saved["projection"])
        plan.load_state_dict(saved["plan"])
        step, best_val, best_step, history = (saved[k] for k in ("step", "best_val", "best_step", "history"))
        say(f"resuming from step {step} of {total} ({state_path})")
    resumed_from = step
    config["training"] = {"text_target": section.text_target.model_dump(), "acoustic_target":
                          section.acoustic_target.model_dump(), "text_projection": text_dim != hidden}
    report = progress_callback(progress, "care-pretrain")
    window: list[tuple[float, float]] = []
    started = time.perf_counter()
    if resumed_from == 0:
        tracker.log_params({"care_pretrain": section.model_dump(), "n_train": len(examples.train),
                            "n_val": len(examples.val), "total_steps": total, "excluded": examples.excluded})
    while step < total:
        chunk = [examples.train[i] for i in batch_indexes(len(examples.train), section.batch_size,
                                                          section.seed, step)]
        batch = collate(chunk, section.crop_seconds, examples.target_rate,
                        np.random.default_rng([section.seed, step, 1]))
        torch.manual_seed(section.seed * 1_000_003 + step)
        with plan.autocast():
            semantic, acoustic = _losses(net, projection, batch, device)
        plan.backward(semantic + acoustic, 1.0)
        plan.step()
        step += 1
        window.append((semantic.item(), acoustic.item()))
        record: dict[str, float] = {}
        if step % section.log_every == 0 or step == total:
            record.update(train_semantic=float(np.mean([w[0] for w in window])),
                          train_acoustic=float(np.mean([w[1] for w in window])))
            window = []
        if step % section.val_every == 0 or step == total:
            val_semantic, val_acoustic = _validate(net, projection, examples, section, device)
            record.update(val_semantic=val_semantic, val_acoustic=val_acoustic,
                          val_loss=val_semantic + val_acoustic)
            if record["val_loss"] < best_val:
                best_val, best_step = record["val_loss"], step
                save_checkpoint_dir(net, config, out, {"best_step": step, "val_loss": best_val})
        if record:
            tracker.log_metrics_soft(record, step=step)
            history.append({"step": float(step), **record})
        if step % section.checkpoint_every == 0 or step == total:
            # history first, state last: a state file on disk always has its history beside it
            _atomic_write_text(out / STATE_DIR / HISTORY_FILE, json.dumps(history, indent=1))
            _atomic_torch_save({"digest": _training_digest(spec), "step": step, "network": net.state_dict(),
                                "projection": projection.state_dict(), "plan": plan.state_dict(),
                                "best_val": best_val, "best_step": best_step, "history": history,
                                "run_id": run_id}, state_path)
        if report:
            report(step, total)
    tracker.log_metrics({"best_val_loss": best_val, "best_step": best_step})
    tracker.set_tags({"care_checkpoint": str(out)})
    trained = step - resumed_from
    return CarePretrainResult(out, step, best_step, best_val, history, resumed_from, len(examples.train),
                              len(examples.val), examples.excluded,
                              (time.perf_counter() - started) / trained if trained else 0.0, run_id)
