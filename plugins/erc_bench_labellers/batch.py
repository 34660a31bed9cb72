"""Provider batch APIs for 100k+ transcripts, resumable after an interruption.

The flow: first finish any batch this labeller (same provider, model, prompt)
left open in the journal - a rerun after Ctrl-C or a crash resumes polling, it
does not pay twice; then submit what is still missing in chunks of
``batch_max_requests``, journalling each batch id the moment the provider
returns it; poll; ingest results (custom_id = the label-cache key). If
``batch_max_wait`` runs out, ``BatchPending`` says to rerun; the batch keeps
running at the provider. A finished batch's labels are stored in one
transaction before its journal entry is closed, so a kill at any point either
re-reads the batch or finds its labels. Requests a batch did not answer
(expired, cancelled, ``error_file_id`` rows) end as ``failed`` and are asked
again by the next run; they are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from erc_bench import LabelOutcome, UserError
from erc_bench_labellers.base import Computed, log
from erc_bench_labellers.pricing import Usage
from erc_bench_labellers.prompting import Prompt
from erc_bench_labellers.retry import AuthenticationFailed, RetriesExhausted, RetryPolicy

if TYPE_CHECKING:  # pragma: no cover
    from erc_bench_labellers.store import LabelStore

BatchRow = tuple[str, "str | None", int, int, "str | None"]
"""(custom_id, answer text or None, prompt tokens, completion tokens, error or None)."""


class BatchPending(UserError):
    """A provider batch is still running; its id is journalled, so rerunning resumes it."""


class BatchLabeller(Protocol):
    """What the batch flow needs of a labeller (``llm.LLMLabeller`` and its providers): stated here so that this
    module depends on no labeller class and ``llm`` -> ``batch`` is the only arrow between the two."""

    name: str
    params: Any  # LLMParams: batch_max_wait, batch_poll_interval, batch_max_requests
    store: LabelStore
    usage: Usage
    supports_batch: bool
    _persisted: set[str]
    parse_raw: Callable[[str | None], LabelOutcome]

    def fingerprint(self) -> str: ...
    def client(self) -> Any: ...
    def retry_policy(self) -> RetryPolicy: ...
    def _note_retry(self, reason: str) -> None: ...
    def _auth_message(self, exc: RetriesExhausted) -> str: ...
    def _model_id(self) -> str: ...
    def _batch_submit(self, client: Any, chunk: list[tuple[str, Prompt]]) -> str: ...
    def _batch_state(self, client: Any, batch_id: str) -> str: ...
    def _batch_results(self, client: Any, batch_id: str) -> Iterator[BatchRow]: ...


def run_batches(labeller: BatchLabeller, pending: list[tuple[str, Prompt]]) -> Iterator[Computed]:
    if not labeller.supports_batch:
        raise UserError(f"the {labeller.name} labeller has no batch API here; use mode = \"online\"")
    store, scope = labeller.store, labeller.fingerprint()
    client, policy = labeller.client(), labeller.retry_policy()
    done: set[str] = set()

    def call(fn: Any, what: str) -> Any:
        try:
            return policy.call(fn, on_retry=labeller._note_retry)
        except RetriesExhausted as exc:
            if exc.is_authentication:
                raise AuthenticationFailed(labeller._auth_message(exc)) from None
            raise UserError(f"{labeller.name} batch API: {what} failed: {exc.reason}") from None

    def collect(batch_id: str) -> Iterator[Computed]:
        started = time.monotonic()
        while True:
            state = call(lambda: labeller._batch_state(client, batch_id), f"polling batch {batch_id}")
            if state != "running":
                break
            waited = time.monotonic() - started
            max_wait = labeller.params.batch_max_wait
            if max_wait is not None and waited >= max_wait:
                raise BatchPending(f"{labeller.name} batch {batch_id} is still running after {waited:.0f} s; "
                                   f"rerun the same command to resume it (nothing is resubmitted)")
            time.sleep(labeller.params.batch_poll_interval)
        if state != "ended":
            log.warning("%s: batch %s finished as %s", labeller.name, batch_id, state)
            store.close_batch(batch_id, state)
            return
        rows = call(lambda: list(labeller._batch_results(client, batch_id)), f"downloading batch {batch_id}")
        computed: list[Computed] = []
        for custom_id, raw, p_tok, c_tok, error in rows:
            done.add(custom_id)
            labeller.usage.requests += 1
            if error is not None:
                computed.append((custom_id, LabelOutcome(None, "failed", detail=f"batch {batch_id}: {error}"[:300]),
                                 0, 0))
            else:
                computed.append((custom_id, labeller.parse_raw(raw), p_tok, c_tok))
        # the labels are saved before the journal says "done": a kill in between re-reads the batch, never loses it
        store.put_many(labeller.name, labeller._model_id(), computed)
        labeller._persisted.update(key for key, *_ in computed)
        store.close_batch(batch_id, "done")
        yield from computed

    for batch_id in store.open_batches(labeller.name, scope):
        log.info("%s: resuming batch %s", labeller.name, batch_id)
        yield from collect(batch_id)
    remaining = [(k, p) for k, p in pending if k not in done]
    size = labeller.params.batch_max_requests
    submitted: list[str] = []
    for start in range(0, len(remaining), size):
        chunk = remaining[start:start + size]
        batch_id = call(lambda c=chunk: labeller._batch_submit(client, c), "submitting a batch")
        store.add_batch(batch_id, labeller.name, scope, len(chunk))
        log.info("%s: submitted batch %s with %d requests", labeller.name, batch_id, len(chunk))
        submitted.append(batch_id)
    for batch_id in submitted:
        yield from collect(batch_id)
    for key, _ in pending:
        if key not in done:
            yield key, LabelOutcome(None, "failed", detail="the provider batch returned no result for it"), 0, 0
