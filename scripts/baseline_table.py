"""Print the README's demo baseline table from an MLflow store where the quickstart and every
``benchmarks/demo/baselines/`` spec ran (3 seeds each, one cache):

    for spec in benchmarks/quickstart.toml benchmarks/demo/baselines/*.toml; do
        erc-bench run $spec --cache-dir CACHE --tracking-uri sqlite:///STORE.db
    done
    python scripts/baseline_table.py --tracking-uri sqlite:///STORE.db

Per system: its final stage's test weighted F1 per seed, mean ± std, the conversation-level 95 % interval
(cluster bootstrap, seeds averaged) and the paired cluster-bootstrap comparison with the quickstart's
MERITS-L (difference, its interval, p), and whether it reads who is speaking.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--reference", default="quickstart", help="the system every row is compared with")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()

    from erc_bench.report import leaderboard
    from erc_bench.report.compare import compare_systems

    rows = [r for r in leaderboard.build(args.tracking_uri) if r.source == "measured"]
    finals: dict[str, leaderboard.Row] = {}
    for row in rows:  # the final stage of each system: fusion, else the last stage
        rank = leaderboard.STAGE_ORDER.index(row.stage) if row.stage in leaderboard.STAGE_ORDER else -1
        best = finals.get(row.system)
        if best is None or rank > leaderboard.STAGE_ORDER.index(best.stage):
            finals[row.system] = row
    print("| system | final stage | test WF1 % per seed | mean ± std | 95 % CI (conversations) | "
          f"vs {args.reference}: Δ WF1 [95 % CI], p | speaker id |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for system, row in sorted(finals.items(), key=lambda item: -(item[1].mean or 0.0)):
        seeds = ", ".join(f"{v:.2f}" for _, v in sorted(row.seeds.items()))
        interval = f"[{row.interval[0]:.2f}, {row.interval[1]:.2f}]" if row.interval else "-"
        if system == args.reference:
            versus = "(reference)"
        else:
            found = compare_systems(args.tracking_uri, system, args.reference, stage=row.stage,
                                    n=args.resamples).result
            versus = (f"{100 * found.delta:+.2f} [{100 * found.ci_low:+.2f}, {100 * found.ci_high:+.2f}], "
                      f"p = {found.p_value:.4f}")
        print(f"| {system} | {row.stage} | {seeds} | {row.mean:.2f} ± {row.std:.2f} | {interval} | {versus} | "
              f"{row.speaker_identity or '-'} |")


if __name__ == "__main__":
    main()
