"""What every caching labeller shares: cache lookup, ordering, usage, dry run.

``CachedLabeller.label`` looks every transcript up in the SQLite label cache,
asks the subclass to compute only the missing ones (``_compute``), stores the
definitive outcome the moment it arrives (one small SQLite transaction per
answer, so a SIGKILL loses at most the answers still in flight, never one that
was received) and returns one outcome per input, in order. Duplicated
transcripts are sent once. Paid answers are the expensive thing here: a few
microseconds of commit per answer is nothing beside a request's latency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from erc_bench import LabelOutcome, redact_secrets
from erc_bench_labellers.pricing import DryRunEstimate, Usage, cost_usd, estimate_tokens
from erc_bench_labellers.prompting import Prompt, parse_answer, prompt_text, render_prompt
from erc_bench_labellers.store import LabelStore, label_key

log = logging.getLogger("erc_bench.labellers")

Computed = tuple[str, LabelOutcome, int, int]
"""(cache key, outcome, prompt tokens, completion tokens) yielded by ``_compute``."""

EXPECTED_ANSWER_TOKENS = 2


def empty_transcript_outcome() -> LabelOutcome:
    """What every labeller answers for an empty transcript: a failure, never a guessed label."""
    return LabelOutcome(None, "failed", detail="empty transcript: nothing to label")


class CachedLabeller:
    """Base of the LLM labellers: subclasses set ``name`` and implement ``_compute`` and ``_model_id``."""

    name: ClassVar[str]
    params: Any
    batch_billing: bool = False

    def __init__(self, params: Any) -> None:
        self.params = params
        self.parse_raw: Callable[[str | None], LabelOutcome] = parse_answer  # llm-erc sets its label set's parser
        self.usage = Usage()
        self._label_store: LabelStore | None = None
        self._persisted: set[str] = set()
        self._offered_store: str | None = None
        self.reasked = 0  # questions asked again because a damaged store lost their answers

    # ------------------------------------------------------------ identity
    def _model_id(self) -> str:
        """The model as stored and keyed: a value from a secret-named ``${VAR}`` stays ``${VAR}`` here."""
        return str(redact_secrets(str(self.params.model)))

    def _prompt_template(self) -> str:
        return str(self.params.prompt)

    def describe(self) -> str:
        """``Describing``: plugin and model for tables (a secret-named ``${VAR}`` stays a name)."""
        return f"{self.name} {self._model_id()}".strip()

    def fingerprint(self) -> str:
        return label_key(self.name, self._model_id(), self._prompt_template(), "")[:16] + f":{self.name}"

    def _key(self, text: str) -> str:
        return label_key(self.name, self._model_id(), self._prompt_template(), text.strip())

    def place_label_store(self, path: str) -> None:
        """``KeepsLabelStore``: the engine's place for the store (the run's cache), taken only by labellers
        with a ``cache_path`` param left unset; the lexicon keeps the user-wide default store."""
        if "cache_path" in type(self.params).model_fields and not self.params.cache_path:
            self._offered_store = path

    @property
    def store(self) -> LabelStore:
        if self._label_store is None:
            self._label_store = LabelStore(getattr(self.params, "cache_path", None) or self._offered_store)
        return self._label_store

    # ------------------------------------------------------------ subclass API
    def _compute(self, pending: list[tuple[str, Prompt]]) -> Iterator[Computed]:
        """Label ``(key, prompt)`` pairs not in the cache; yield each result as it is known."""
        raise AttributeError(f"{type(self).__name__} must define _compute")

    # ------------------------------------------------------------------ flow
    def _plan(self, texts: list[str]) -> tuple[list[str | None], dict[str, Prompt], dict[str, LabelOutcome]]:
        keys: list[str | None] = []
        prompts: dict[str, Prompt] = {}
        for text in texts:
            if not text or not text.strip():
                keys.append(None)
                continue
            key = self._key(text)
            keys.append(key)
            prompts.setdefault(key, render_prompt(self._prompt_template(), text))
        cached = {k: s.outcome for k, s in self.store.get_many(prompts).items()}
        return keys, prompts, cached

    def label(self, texts: list[str]) -> list[LabelOutcome]:
        keys, prompts, known = self._plan(list(texts))
        known.update(self._ask_pending(prompts, known))
        out: list[LabelOutcome] = []
        for key in keys:
            if key is None:
                out.append(empty_transcript_outcome())
            else:
                out.append(known.get(key) or LabelOutcome(None, "failed", detail="no result returned"))
        return out

    def ask(self, prompts: Mapping[str, Prompt]) -> dict[str, LabelOutcome]:
        """Answer prompts the caller keyed itself (``llm-erc`` keys each by its full text and the model): from
        the store where known, else asked (each answer stored the moment it arrives) and parsed by
        ``parse_raw``; a key whose request failed maps to a ``failed`` outcome."""
        known = {k: s.outcome for k, s in self.store.get_many(prompts).items()}
        known.update(self._ask_pending(prompts, known))
        return {key: known.get(key) or LabelOutcome(None, "failed", detail="no result returned") for key in prompts}

    def _ask_pending(self, prompts: Mapping[str, Prompt], known: Mapping[str, LabelOutcome]
                     ) -> dict[str, LabelOutcome]:
        pending = [(k, p) for k, p in prompts.items() if k not in known]
        lost = [k for k, _ in pending if k in self.store.lost]
        if lost:
            self.reasked += len(lost)
            log.warning("%s: asking %d questions again whose answers the damaged label store lost", self.name,
                        len(lost))
        answered: dict[str, LabelOutcome] = {}
        for item in self._compute(pending):
            key, outcome, p_tok, c_tok = item
            if key not in self._persisted:  # a provider batch stores its rows before closing itself
                self.store.put_many(self.name, self._model_id(), [item])
            answered[key] = outcome
            self._account(p_tok, c_tok)
        return answered

    def finish_labelling(self) -> str | None:
        """``BacksUpLabelStore``: after a successful labelling run, rotate the store's backup; a line saying
        how many paid questions were asked again (a restored store had lost them), if any."""
        if self._label_store is None:
            return None
        self.store.backup()
        if not self.reasked:
            return None
        return (f"{self.name}: {self.reasked} questions were asked (and paid for) again because the damaged "
                f"label store had lost their answers")

    def _account(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        self.usage.cost_usd = cost_usd(self._model_id(), self.usage.prompt_tokens, self.usage.completion_tokens,
                                       batch=self.batch_billing)

    def estimate(self, texts: list[str]) -> DryRunEstimate:
        """Requests, tokens and cost a ``label(texts)`` call would spend; sends nothing."""
        keys, prompts, known = self._plan(list(texts))
        pending = [p for k, p in prompts.items() if k not in known]
        return self._estimate(pending, transcripts=sum(k is not None for k in keys),
                              cached=sum(1 for k in keys if k in known))

    def estimate_prompts(self, prompts: Mapping[str, Prompt],
                         count_tokens: Callable[[str], int] = estimate_tokens) -> DryRunEstimate:
        """``estimate`` for prompts the caller keyed itself (``ask``); ``count_tokens`` counts one prompt's."""
        cached = set(self.store.get_many(prompts))
        pending = [p for k, p in prompts.items() if k not in cached]
        return self._estimate(pending, transcripts=len(prompts), cached=len(cached), count_tokens=count_tokens)

    def _estimate(self, pending: list[Prompt], transcripts: int, cached: int,
                  count_tokens: Callable[[str], int] = estimate_tokens) -> DryRunEstimate:
        prompt_tokens = sum(count_tokens(prompt_text(p)) for p in pending)
        answer = min(getattr(self.params, "max_tokens", EXPECTED_ANSWER_TOKENS), EXPECTED_ANSWER_TOKENS)
        completion_tokens = answer * len(pending)
        return DryRunEstimate(
            transcripts=transcripts, cached=cached,
            requests=len(pending), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost_usd=cost_usd(self._model_id(), prompt_tokens, completion_tokens, batch=self.batch_billing),
            model=self._model_id(), mode=str(getattr(self.params, "mode", "local")))
