"""Derive the CMU-MOSI split of Poria et al. (ACL 2017), which MERITS-L follows, from the authors' files.

The authors' repository ``soujanyaporia/multimodal-sentiment-analysis`` (commit
``699dcc55e2fdbc9d821af99b0f7311d974fdde4b``) holds, in ``data/``:

* ``transcripts.csv`` (no header): utterance id ``{video}_{clip}``, text, ``video_no`` (1-93), label;
* ``text_train.csv`` / ``text_test.csv`` (no header): column 0 is a 0-based row index into
  ``transcripts.csv``; the remaining columns are features (ignored here).

This script writes ``plugins/erc_bench_datasets/mosi_poria2017.csv``: one row per video with its
``video_no``, id, the split the index files put it in, and its utterance count. Why a script: the ids
are facts taken from the authors' data, and anyone can check them by rerunning it on the same commit::

    git -C <mirror> show 699dcc5:data/transcripts.csv > transcripts.csv   # likewise text_train/test.csv
    python scripts/derive_mosi_paper_split.py transcripts.csv text_train.csv text_test.csv
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

SOURCE_COMMIT = "699dcc55e2fdbc9d821af99b0f7311d974fdde4b"
OUT = Path(__file__).resolve().parents[1] / "plugins" / "erc_bench_datasets" / "mosi_poria2017.csv"
HEADER = f"""\
# CMU-MOSI video order and train/test split of Poria et al. (ACL 2017), the split MERITS-L uses.
# Source: github.com/soujanyaporia/multimodal-sentiment-analysis @ {SOURCE_COMMIT}
#   video_no from data/transcripts.csv (column 3), split from the row indices in data/text_train.csv and
#   data/text_test.csv, utterances = rows of transcripts.csv per video (62 videos / 1447 train, 31 / 752 test).
# Regenerate with scripts/derive_mosi_paper_split.py; these are facts from the authors' files, not choices.
"""


def video_of(utterance_id: str) -> str:
    return utterance_id.rsplit("_", 1)[0]


def derive(transcripts: Path, train: Path, test: Path) -> list[tuple[int, str, str, int]]:
    """(video_no, video_id, split, utterances) per video, sorted by video_no."""
    rows = list(csv.reader(transcripts.open(encoding="utf-8")))
    numbers: dict[str, set[int]] = {}
    for row in rows:
        numbers.setdefault(video_of(row[0]), set()).add(int(row[2]))
    if any(len(n) != 1 for n in numbers.values()):
        raise SystemExit("a video carries more than one video_no")
    split_of: dict[str, str] = {}
    for split, path in (("train", train), ("test", test)):
        for index_row in csv.reader(path.open(encoding="utf-8")):
            video = video_of(rows[int(index_row[0])][0])
            if split_of.setdefault(video, split) != split:
                raise SystemExit(f"video {video} is in both train and test")
    counts = Counter(video_of(row[0]) for row in rows)
    table = [(next(iter(numbers[v])), v, split_of[v], counts[v]) for v in split_of]
    return sorted(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("transcripts", "train", "test"):
        parser.add_argument(name, type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    table = derive(args.transcripts, args.train, args.test)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER)
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["video_no", "video_id", "split", "utterances"])
        writer.writerows(table)
    print(f"wrote {len(table)} videos to {args.out}")


if __name__ == "__main__":
    main()
