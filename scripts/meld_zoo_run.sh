#!/usr/bin/env bash
# Runs the MELD text-only context-model zoo (benchmarks/meld_text_zoo/) one run at a time, seed-major (every
# family's seed 0, then seed 1, then seed 2, then the variants), with one cache and one MLflow store, and
# appends "spec seed seconds rc" per run to $OUT/times.tsv. See the README, "The context-model families on real MELD".
#
#   ERC_DATA=/data OUT=/tmp/meldzoo scripts/meld_zoo_run.sh [SPEC_STEM ...]
#
# $ERC_DATA/MELD.Raw must hold MELD's three *_sent_emo.csv files. SPEC_STEMs (default: all, core families
# first) are file names under benchmarks/meld_text_zoo/ without .toml; SEEDS (default "0 1 2") the seeds.
set -u
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${OUT:-runs/meldzoo}")
SEEDS=${SEEDS:-"0 1 2"}
ERC_BENCH=${ERC_BENCH:-erc-bench}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} MKL_NUM_THREADS=${MKL_NUM_THREADS:-2}
mkdir -p "$OUT/logs"
CORE="bigru_attention bc_lstm dialogue_rnn dialogue_gcn transformer"
VARIANTS="bidialogue_rnn_att transformer_speakers"
if [ $# -gt 0 ]; then STEMS="$*"; else STEMS="$CORE $VARIANTS"; fi
run() {  # stem seed
    local start=$(date +%s)
    nice -n 10 $ERC_BENCH run "benchmarks/meld_text_zoo/$1.toml" --set "benchmark.seeds=[$2]" \
        --set benchmark.device=cpu --cache-dir "$OUT/cache" --tracking-uri "sqlite:///$OUT/m.db" \
        --output "$OUT/logs/$1_s$2.json" > "$OUT/logs/$1_s$2.log" 2>&1
    local rc=$?
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(( $(date +%s) - start ))" "$rc" | tee -a "$OUT/times.tsv"
}
for seed in $SEEDS; do
    for stem in $STEMS; do
        case " $CORE " in *" $stem "*) run "$stem" "$seed";; esac
    done
done
for seed in $SEEDS; do
    for stem in $STEMS; do
        case " $CORE " in *" $stem "*) ;; *) run "$stem" "$seed";; esac
    done
done
