"""MSP-Podcast (Lotfian & Busso 2019) as a labelled corpus: consensus categories, V/A/D, the release's partitions.

Layout under ``root`` (the release folder, as UT Dallas ships it)::

    Audios/MSP-PODCAST_0001_0008.wav         (``Audio/`` in older releases; ``audio_dir``)
    Labels/labels_consensus.csv              FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
    Transcripts/MSP-PODCAST_0001_0008.txt    (where the release has them; text stays "" otherwise)

Categories (``EmoClass``, the release's consensus code): A anger, S sadness, H happiness, U surprise,
F fear, D disgust, C contempt, N neutral; O (other) and X (no agreement) are not classes.
``classes = 8`` keeps all eight; ``4`` (default) the common anger / happiness / sadness / neutral subset;
``5`` adds contempt (**this project's choice**: published 5-class subsets differ). Utterances outside the
chosen set, O and X included, are left out by design (counted in ``data info``, not problems); a code
outside the release's set is ``unknown-label``. Arousal, valence and dominance (1-7) are in
``meta["arousal" | "valence" | "dominance"]``; ``meta["valence"]`` is what the oracle labeller reads, so
the same folder still serves pre-training (``audio-folder`` with ``metadata`` does too).

Partitions: ``Split_Set`` Train -> train, Development -> validation, and the test set named by
``test_set`` (Test1 default; Test2, Test3 where the release has them) -> test; the other test sets are
left out. Each clip is its own conversation (segments of a podcast are not contiguous dialogue).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import Conversation, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import (
    AudioPolicy,
    clip_index,
    clip_source,
    empty_splits,
    finish,
    layout_error,
    read_csv_rows,
    resolve_root,
)

CODES = {"A": "anger", "S": "sadness", "H": "happiness", "U": "surprise", "F": "fear", "D": "disgust",
         "C": "contempt", "N": "neutral"}
NOT_CLASSES = {"O", "X"}
SUBSETS = {8: list(CODES), 4: ["A", "H", "S", "N"], 5: ["A", "H", "S", "N", "C"]}
PARTITIONS = {"Train": "train", "Development": "validation"}
REQUIRED = ("FileName", "EmoClass", "Split_Set")
LAYOUT = "Audios/<FileName>.wav and Labels/labels_consensus.csv (FileName, EmoClass, EmoAct, EmoVal, EmoDom, ...)"
CARD = DatasetCard(
    title="MSP-Podcast",
    url="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html",
    citation="""@article{lotfian2019building,
  title   = {Building Naturalistic Emotionally Balanced Speech Corpus by Retrieving Emotional Speech from
             Existing Podcast Recordings},
  author  = {Lotfian, Reza and Busso, Carlos},
  journal = {IEEE Transactions on Affective Computing},
  volume  = {10}, number = {4}, pages = {471--483}, year = {2019}
}""",
    licence="academic licence agreement with UT Dallas (MSP lab); no redistribution",
    obtain=("request it from the MSP lab: https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html "
            "(signed academic licence)",
            "unpack the release; point params.root at the folder holding Audios/ and Labels/"),
    layout=("Audios/MSP-PODCAST_0001_0008.wav  (Audio/ in older releases: params.audio_dir)",
            "Labels/labels_consensus.csv  (FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set)",
            "Transcripts/<FileName stem>.txt  (where present)"),
    splits="the release's partitions: Train / Development / Test1 (or Test2, Test3: params.test_set)",
    counts=(SplitCount("train", None, None, "Train", "differs per release (v1.x); run erc-bench data info"),
            SplitCount("validation", None, None, "Development"), SplitCount("test", None, None, "Test1")),
    label_map=tuple(CODES.items()) + (("O, X", "not a class (left out)"),),
    defects=("rows whose clip is absent are 'missing-audio'; non-numeric EmoAct/EmoVal/EmoDom 'bad-attribute'",),
    tasks=("emotion, 4 (default), 5 or 8 classes", "arousal / valence / dominance 1-7 in meta",
           "pre-training pool (valence for the oracle labeller)"),
    modalities=("speech", "text"),
)


class MspPodcastParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="the MSP-Podcast release folder (Audios/, Labels/)")
    labels_file: str = "Labels/labels_consensus.csv"
    audio_dir: str = "Audios"
    classes: Literal[4, 5, 8] = 4
    test_set: Literal["Test1", "Test2", "Test3"] = "Test1"
    audio: AudioPolicy = "auto"


class MspPodcast:
    """MSP-Podcast: consensus categories (4, 5 or 8), V/A/D in meta, the release's own partitions."""

    name: ClassVar[str] = "msp-podcast"
    Params: ClassVar[type[BaseModel]] = MspPodcastParams
    card: ClassVar[DatasetCard] = CARD

    def __init__(self, params: MspPodcastParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        p = self.params
        root = resolve_root(p.root, CARD, LAYOUT)
        label_path = root / p.labels_file
        if not label_path.is_file():
            raise layout_error(CARD, label_path, LAYOUT)
        problems: list[Problem] = []
        header, rows = read_csv_rows(label_path, "MSP-Podcast", problems)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise layout_error(CARD, label_path, f"columns {', '.join(REQUIRED)}; missing {', '.join(missing)}")
        audio_dir = root / p.audio_dir
        clips = clip_index(audio_dir, p.audio, CARD, LAYOUT, problems)
        transcripts = root / "Transcripts"
        keep = {code: CODES[code] for code in SUBSETS[p.classes]}
        roles = PARTITIONS | {p.test_set: "test"}
        splits = empty_splits()
        for line_no, row in enumerate(rows, start=2):
            file_name = (row.get("FileName") or "").strip()
            utt_id = Path(file_name).stem or f"{label_path.name}:{line_no}"
            code = (row.get("EmoClass") or "").strip().upper()
            if code not in CODES and code not in NOT_CLASSES:
                problems.append(Problem("unknown-label", utt_id, f"EmoClass '{row.get('EmoClass')}'"))
                continue
            split = roles.get((row.get("Split_Set") or "").strip())
            if split is None or code not in keep:
                continue  # another test set, or a class outside the chosen subset: left out by design
            meta: dict[str, object] = {"code": code, "partition": row.get("Split_Set", "").strip()}
            for column, key in (("EmoAct", "arousal"), ("EmoVal", "valence"), ("EmoDom", "dominance")):
                if column in row and (row[column] or "").strip():
                    try:
                        meta[key] = float(row[column])
                    except ValueError:
                        problems.append(Problem("bad-attribute", utt_id, f"{column}={row[column]!r}"))
            transcript = transcripts / f"{utt_id}.txt"
            text = transcript.read_text(encoding="utf-8", errors="replace").strip() if transcript.is_file() else ""
            speaker = (row.get("SpkrID") or "").strip()
            utterance = Utterance(id=utt_id, conversation_id=utt_id, position=0, text=text, label=keep[code],
                                  speaker=None if speaker.lower() in ("", "unknown") else speaker,
                                  audio=clip_source(clips, audio_dir, Path(file_name).name, utt_id, problems),
                                  meta=meta)
            splits[split].append(Conversation(utt_id, [utterance]))
        return finish(self.name, [CODES[c] for c in SUBSETS[p.classes]], splits, problems)
