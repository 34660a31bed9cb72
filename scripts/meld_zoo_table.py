"""Print the MELD text-only context-model table (README: "The context-model families on real MELD") from
the MLflow store the zoo ran into:

    ERC_DATA=/data OUT=/tmp/meldzoo scripts/meld_zoo_run.sh
    python scripts/meld_zoo_table.py --tracking-uri sqlite:////tmp/meldzoo/m.db

One row per ``meld-text-zoo-*`` system (``--prefix``), its Stage II text row (``--stage``), and a last row
for Stage I text alone (``--first-stage``, read from the reference system: every family shares it): test weighted F1
per seed, mean ± std, validation weighted F1 (the selection score) per seed and its mean, the conversation-
level 95 % interval of the test mean (cluster bootstrap, seeds averaged; as the leaderboard computes it), the
paired cluster-bootstrap comparison with the reference system (``--reference``, the MERITS-L default Bi-GRU +
attention) over the seeds both ran (difference, its 95 % interval, p; not Holm-adjusted), whether a component
reads who is speaking, and seconds per seed: the stage's own training run and the whole seed run (Stage I
replayed or trained, Stage II, logging; loading the corpus comes before it). Seconds on a shared machine
measure its load as much as the model: compare them within a seed, not across. A stage replayed from the
cache shows "cached" for its time. Everything is read from MLflow; nothing is retrained.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _seconds(run: object) -> float | None:
    info = run.info  # type: ignore[attr-defined]
    return None if info.end_time is None else (info.end_time - info.start_time) / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--prefix", default="meld-text-zoo-", help="systems whose name starts with this")
    parser.add_argument("--reference", default="meld-text-zoo-bigru-attention",
                        help="the system every row is compared with")
    parser.add_argument("--stage", default="stage2-text")
    parser.add_argument("--first-stage", default="stage1-text", help="shown once, from the reference system")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--format", choices=("markdown", "tsv"), default="markdown")
    args = parser.parse_args()

    from mlflow.tracking import MlflowClient

    from erc_bench.report import leaderboard
    from erc_bench.report.compare import compare_systems
    from erc_bench.tracking.tags import CACHED_TAG, PARENT_RUN_TAG, STAGE_TAG

    client = MlflowClient(tracking_uri=args.tracking_uri)
    measured = [r for r in leaderboard.build(args.tracking_uri) if r.source == "measured"
                and r.system.startswith(args.prefix)]
    rows = [r for r in measured if r.stage == args.stage]
    # Stage I (no context model) is the same network for every family (shared through the cache): shown once,
    # from the reference system's runs, as the floor a context model should clear
    first = [r for r in measured if r.system == args.reference and r.stage == args.first_stage]
    header = ["Stage II context model", "speaker id", "test WF1 % per seed", "test WF1 mean ± std",
              "val WF1 % per seed", "val WF1 mean", "95 % CI (conversations)",
              f"vs {args.reference}: Δ WF1 [95 % CI], p", "stage s per seed", "seed run s per seed"]
    lines = [header]
    for row in sorted(rows, key=lambda r: -(r.mean or 0.0)) + first:
        seeds = sorted(row.seeds)
        vals: list[float] = []
        stage_s: list[str] = []
        total_s: list[float] = []
        for seed in seeds:
            run = client.get_run(row.run_ids[seed])
            val = run.data.metrics.get(f"{row.stage}/validation/weighted_f1")
            if val is not None:
                vals.append(100.0 * val)
            seconds = _seconds(run)
            if seconds is not None:
                total_s.append(seconds)
            children = client.search_runs(
                [run.info.experiment_id],
                filter_string=f"tags.`{PARENT_RUN_TAG}` = '{run.info.run_id}' and tags.`{STAGE_TAG}` = '{row.stage}'")
            for child in children[:1]:
                child_s = _seconds(child)
                if child.data.tags.get(CACHED_TAG) == "True":
                    stage_s.append("cached")
                elif child_s is not None:
                    stage_s.append(f"{child_s:.0f}")
        interval = f"[{row.interval[0]:.2f}, {row.interval[1]:.2f}]" if row.interval else "-"
        if row.stage != args.stage:
            versus = "-"
        elif row.system == args.reference:
            versus = "(reference)"
        else:
            found = compare_systems(args.tracking_uri, row.system, args.reference, stage=row.stage,
                                    n=args.resamples).result
            versus = (f"{100 * found.delta:+.2f} [{100 * found.ci_low:+.2f}, {100 * found.ci_high:+.2f}], "
                      f"p = {found.p_value:.4f}")
        shown = row.shown_system.removeprefix(args.prefix)
        if row.stage != args.stage:
            shown = f"{row.stage} alone (no context model)"
        lines.append([shown, row.speaker_identity or "-", ", ".join(f"{row.seeds[s]:.2f}" for s in seeds),
                      f"{row.mean:.2f} ± {row.std:.2f}", ", ".join(f"{v:.2f}" for v in vals),
                      f"{statistics.fmean(vals):.2f}" if vals else "-", interval, versus, ", ".join(stage_s),
                      ", ".join(f"{t:.0f}" for t in total_s)])
    if args.format == "tsv":
        print("\n".join("\t".join(line) for line in lines))
    else:
        print("| " + " | ".join(header) + " |")
        print("|" + " --- |" * len(header))
        for line in lines[1:]:
            print("| " + " | ".join(line) + " |")


if __name__ == "__main__":
    main()
