"""Stage I text fine-tuning of a tiny random-weight encoder, run once plainly and once under a launcher
(``accelerate launch`` / ``torchrun``) by ``test_distributed_training.py``; rank 0 saves what it trained.
With ``"pretrain": true`` in TRAINING_JSON it runs LLM-guided pre-training's fine-tune instead, on the
manifest's texts as silver labels (happy -> positive, sad -> negative).

    python tests/ddp_worker.py MANIFEST OUT_DIR TRAINING_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TINY_ENCODER = {"model": "sentence-transformers/all-MiniLM-L6-v2", "hidden_dim": 8, "max_length": 16,
                "dropout": 0.0, "pooling": "mean",
                "random_config": {"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 2,
                                  "num_attention_heads": 2, "intermediate_size": 32, "hidden_dropout_prob": 0.0,
                                  "attention_probs_dropout_prob": 0.0}}


def main() -> None:
    import torch

    from erc_bench.core.plugin_host import build
    from erc_bench.core.spec import StageTraining
    from erc_bench.recipes.merits_l.stages import fine_tune_text
    from erc_bench.train import distributed

    manifest, out, training = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    distributed.init_from_env()
    data = build("dataset", "csv", {"manifest": manifest}).load()
    texts = {u.id: u.text for split in data.splits for u in data.utterances(split)}
    encoder = build("text_encoder", "hf-text", TINY_ENCODER)
    if training.pop("pretrain", False):
        history, metrics, model = _pretrain(encoder, data, training)
    else:
        result, model = fine_tune_text(encoder, data, texts, StageTraining(**training), seed=0, device="cpu",
                                       keep_features=False)
        history, metrics = result.history, result.metrics
    if distributed.is_main():
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out / "state.pt")
        (out / "result.json").write_text(json.dumps({"history": history, "metrics": metrics,
                                                     "world_size": distributed.world_size()}))


def _pretrain(encoder: object, data: object, training: dict) -> tuple[list, dict, object]:
    from erc_bench.core.spec import PretrainSection
    from erc_bench.recipes.merits_l.pretrain import fine_tune

    silver = {"happy": "positive", "sad": "negative"}
    pairs = [(u.text, silver[u.label]) for split in data.splits for u in data.utterances(split)]
    section = PretrainSection(corpus={"plugin": "csv"}, asr={"plugin": "faster-whisper"},
                              labeller={"plugin": "lexicon"}, **training)
    model, summary = fine_tune(encoder, pairs, section, device="cpu")
    return summary.get("history", []), {"val_accuracy": summary["val_accuracy"]}, model


if __name__ == "__main__":
    main()
