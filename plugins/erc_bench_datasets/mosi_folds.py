"""CMU-MOSI folds (video ids): the paper's split (Poria et al. 2017) and the SDK's standard folds.

Two different splits circulate for CMU-MOSI, and they share only 7 of their 31 test videos:

* **Poria et al. (ACL 2017)**, which MERITS-L follows ("the first 62 monologues are used for training
  and validation while the last 31 monologues are used for testing"): the authors number the 93
  videos 1-93 (``video_no``); videos 1-62 train (1447 utterances), 63-93 test (752). The ids, that
  order and the per-video utterance counts are data in ``mosi_poria2017.csv`` beside this module,
  derived from the authors' repository (source and commit in its header; ``scripts/
  derive_mosi_paper_split.py`` regenerates it). ``PAPER_TRAIN_VALIDATION`` (videos 1-62 in that
  order) and ``PAPER_TEST`` are read from it.
* **CMU MultimodalSDK standard folds** (``STANDARD_*``: 52 train, 10 validation, 31 test videos, 686
  test utterances), what most later MOSI work uses; the ``52-10-31`` fold. Kept so results can be
  compared with that literature; MERITS-L's numbers are on the Poria split.
"""

import csv
from pathlib import Path

PAPER_SPLIT_FILE = Path(__file__).with_name("mosi_poria2017.csv")


def _read_paper_split() -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]:
    """(train+validation videos in video_no order, test videos in video_no order, utterances per video)."""
    with PAPER_SPLIT_FILE.open(encoding="utf-8", newline="") as fh:
        rows = sorted(csv.DictReader(line for line in fh if not line.startswith("#")),
                      key=lambda row: int(row["video_no"]))
    first = tuple(row["video_id"] for row in rows if row["split"] == "train")
    last = tuple(row["video_id"] for row in rows if row["split"] == "test")
    return first, last, {row["video_id"]: int(row["utterances"]) for row in rows}


PAPER_TRAIN_VALIDATION, PAPER_TEST, PAPER_UTTERANCES = _read_paper_split()

STANDARD_TRAIN = (
    "2iD-tVS8NPw", "8d-gEyoeBzc", "Qr1Ca94K55A", "Ci-AH39fi3Y", "8qrpnFRGt2A", "Bfr499ggo-0", "QN9ZIUWUXsY",
    "9T9Hf74oK10", "7JsX8y1ysxY", "1iG0909rllw", "Oz06ZWiO20M", "BioHAh1qJAQ", "9c67fiY0wGQ", "Iu2PFX3z_1s",
    "Nzq88NnDkEk", "Clx4VXItLTE", "9J25DZhivz8", "Af8D0E4ZXaw", "TvyZBvOMOTc", "W8NXH0Djyww", "8OtFthrtaJM",
    "0h-zjBukYpk", "Vj1wYRQjB-o", "GWuJjcEuzt8", "BI97DNYfe5I", "PZ-lDQFboO8", "1DmNV9C1hbY", "OQvJTdtJ2H4",
    "I5y0__X72p0", "9qR7uwkblbs", "G6GlGvlkxAQ", "6_0THN4chvY", "Njd1F0vZSm4", "BvYR0L6f2Ig", "03bSnISJMiM",
    "Dg_0XKD0Mf4", "5W7Z1C_fDaE", "VbQk4H8hgr0", "G-xst2euQUc", "MLal-t_vJPM", "BXuRRbG0Ugk", "LSi-o-IrDMs",
    "Jkswaaud0hk", "2WGyTLYerpo", "6Egk_28TtTM", "Sqr0AcuoNnk", "POKffnXeBds", "73jzhE8R1TQ", "OtBXNcAL_lE",
    "HEsqda8_d0Q", "VCslbP0mgZI", "IumbAb8q2dM",
)
STANDARD_VALIDATION = (
    "WKA5OygbEKI", "c5xsKMxpXnc", "atnd_PF-Lbs", "bvLlb-M3UXU", "bOL9jKpeJRs", "_dI--eQ6qVU", "ZAIRrfG22O0",
    "X3j2zQgwYgE", "aiEXnCPZubE", "ZUXBRvtny7o",
)
STANDARD_TEST = (
    "tmZoasNr4rU", "zhpQhgha_KU", "lXPQBPVc5Cw", "iiK8YX8oH1E", "tStelxIAHjw", "nzpVDcQ0ywM", "etzxEpPuc6I",
    "cW1FSBF59ik", "d6hH302o4v8", "k5Y_838nuGo", "pLTX3ipuDJI", "jUzDDGyPkXU", "f_pcplsH_V0", "yvsjCA6Y5Fc",
    "nbWiPyCm4g0", "rnaNMUZpvvg", "wMbj6ajWbic", "cM3Yna7AavY", "yDtzw_Y-7RU", "vyB00TXsimI", "dq3Nf_lMPnE",
    "phBUpBr1hSo", "d3_k5Xpfmik", "v0zCBqDeKcE", "tIrG4oNLFzE", "fvVhgmXxadc", "ob23OKe5a9Q", "cXypl4FnoZo",
    "vvZ4IcEtiZc", "f9O3YtZ2VfI", "c7UH_rxdZv4",
)
