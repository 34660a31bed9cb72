"""The module contracts of the kinds that build torch modules, checked on a dummy batch before any work.

A context model, a fusion head or a speech head that returns the wrong shape
would otherwise fail an epoch into training (or, worse, train on padding) with
an ``IndexError`` deep in the loop that names no plugin. ``check_module`` builds
the component's module for small sizes, runs one forward pass in eval mode and
checks what the training loop relies on:

* context model: ``forward(batch) -> (logits [B,T,C], features [B,T,H])`` with ``module.feature_dim == H``,
  for a ``ConversationBatch`` of one modality (``batch.x [B,T,D]``), its mask, speakers and positions;
* fusion head: ``forward(batch) -> logits [B,T,C]`` for a batch holding ``text [B,T,Dt]`` and
  ``speech [B,T,Ds]``;
* speech head: ``forward(x [B,D] or [B,L,D]) -> (logits [B,C], features [B,H])`` with ``feature_dim == H``;

floating dtypes, finite values, and (for the conversation kinds) that changing
the inputs (features and speakers) at padded positions leaves every output at
real positions unchanged.
A violation is a ``ComponentError`` naming the plugin, its package, and the
expected and actual shapes. The checks use their own random generator, so the
global RNG state (and with it every seeded result) is untouched.
"""

from __future__ import annotations

from typing import Any

from erc_bench.core.errors import ComponentError

BATCH, STEPS, TEXT_DIM, SPEECH_DIM, LAYERS = 2, 5, 12, 10, 3
REAL_LENGTHS = (5, 3)  # the second conversation is padded at its last two positions
CHECKED_KINDS = ("context_model", "fusion_head", "speech_head")
TOLERANCE = 1e-4


def _who(kind: str, plugin: str, component: Any) -> str:
    from erc_bench.core.code_identity import code_identity, describe_code

    return f"{kind} '{plugin}' ({describe_code(code_identity(type(component)))})"


def _fail(who: str, message: str) -> ComponentError:
    return ComponentError(f"{who} breaks its module contract: {message}")


def _shape(t: Any) -> str:
    return f"[{', '.join(str(d) for d in t.shape)}]" if hasattr(t, "shape") else type(t).__name__


def _expect(who: str, what: str, tensor: Any, expected: tuple[int, ...]) -> None:
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise _fail(who, f"{what}: expected a tensor of shape [{', '.join(map(str, expected))}], got "
                         f"{type(tensor).__name__}")
    if tuple(tensor.shape) != expected:
        raise _fail(who, f"{what}: expected shape [{', '.join(map(str, expected))}], got {_shape(tensor)}")
    if not tensor.is_floating_point():
        raise _fail(who, f"{what}: expected a floating-point tensor, got {tensor.dtype}")
    if not bool(torch.isfinite(tensor).all()):
        raise _fail(who, f"{what}: non-finite values (nan or inf) on a finite input")


def _pair(who: str, output: Any, what: str) -> tuple[Any, Any]:
    if not isinstance(output, tuple | list) or len(output) != 2:
        raise _fail(who, f"{what} must return (logits, features), got {type(output).__name__}"
                         f"{' ' + _shape(output) if hasattr(output, 'shape') else ''}")
    return output[0], output[1]


def _feature_dim(who: str, module: Any) -> int:
    dim = getattr(module, "feature_dim", None)
    if not isinstance(dim, int) or dim <= 0:
        raise _fail(who, f"the built module needs an int attribute 'feature_dim' (got {dim!r})")
    return dim


def _conversation_batch(generator: Any, dims: dict[str, int]) -> Any:
    """Two conversations of 5 and 3 utterances: two speakers taking turns, one utterance of unknown speaker."""
    import torch

    from erc_bench.core.interfaces import ConversationBatch

    mask = torch.zeros(BATCH, STEPS, dtype=torch.bool)
    for b, length in enumerate(REAL_LENGTHS):
        mask[b, :length] = True
    positions = torch.arange(STEPS).expand(BATCH, STEPS).masked_fill(~mask, -1)
    speakers = (positions % 2).masked_fill(~mask, -1)
    speakers[0, 3] = -1
    features = {m: torch.randn(BATCH, STEPS, d, generator=generator) * mask.unsqueeze(-1) for m, d in dims.items()}
    return ConversationBatch(features, mask, speakers, positions)


def _padding_changed(batch: Any, generator: Any) -> Any:
    """The same batch with large random values and other speakers at padded positions (a contract-abiding model
    ignores them)."""
    import torch

    from erc_bench.core.interfaces import ConversationBatch

    pad = ~batch.mask
    features = {m: x + pad.unsqueeze(-1) * 100.0 * torch.randn(x.shape, generator=generator)
                for m, x in batch.features.items()}
    return ConversationBatch(features, batch.mask, batch.speakers.masked_fill(pad, 7), batch.positions)


def _same_at_real(who: str, what: str, a: Any, b: Any, mask: Any) -> None:
    import torch

    gap = float((a[mask] - b[mask]).abs().max()) if bool(mask.any()) else 0.0
    if not torch.isfinite(torch.tensor(gap)) or gap > TOLERANCE:
        raise _fail(who, f"{what} at real positions change when only padded positions change (max difference "
                         f"{gap:.3g}); mask padded positions (mask is bool, True = a real utterance)")


def check_module(kind: str, plugin: str, component: Any, num_labels: int) -> None:
    """Build ``component``'s module for small sizes and check its contract; raises ComponentError."""
    if kind not in CHECKED_KINDS:
        return
    import torch

    who = _who(kind, plugin, component)
    generator = torch.Generator().manual_seed(0)
    try:
        if kind == "context_model":
            _check_context(who, component, num_labels, generator)
        elif kind == "fusion_head":
            _check_fusion(who, component, num_labels, generator)
        else:
            _check_speech_head(who, component, num_labels, generator)
    except ComponentError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the plugin's code is reported as the plugin's
        raise _fail(who, f"{type(exc).__name__}: {exc}") from exc


def _built(who: str, build: Any, *args: Any) -> Any:
    import torch

    module = build(*args)
    if not isinstance(module, torch.nn.Module):
        raise _fail(who, f"build(...) must return a torch.nn.Module, got {type(module).__name__}")
    return module.eval()


def _check_context(who: str, component: Any, num_labels: int, generator: Any) -> None:
    import torch

    module = _built(who, component.build, TEXT_DIM, num_labels)
    hidden = _feature_dim(who, module)
    batch = _conversation_batch(generator, {"text": TEXT_DIM})
    with torch.no_grad():
        logits, features = _pair(who, module(batch), "forward(batch)")
        _expect(who, "logits", logits, (BATCH, STEPS, num_labels))
        _expect(who, "features", features, (BATCH, STEPS, hidden))
        logits2, features2 = _pair(who, module(_padding_changed(batch, generator)), "forward(batch)")
    _same_at_real(who, "logits", logits, logits2, batch.mask)
    _same_at_real(who, "features", features, features2, batch.mask)


def _check_fusion(who: str, component: Any, num_labels: int, generator: Any) -> None:
    import torch

    dims = {"text": TEXT_DIM, "speech": SPEECH_DIM}
    module = _built(who, component.build, dims, num_labels)
    batch = _conversation_batch(generator, dims)
    with torch.no_grad():
        logits = module(batch)
        _expect(who, "logits of forward(batch)", logits, (BATCH, STEPS, num_labels))
        logits2 = module(_padding_changed(batch, generator))
    _same_at_real(who, "logits", logits, logits2, batch.mask)


def _check_speech_head(who: str, component: Any, num_labels: int, generator: Any) -> None:
    """Both embedding shapes are tried; a head may refuse one of them with a ``UserError`` at ``build`` (a
    head over per-layer embeddings refuses pooled ones), but it must take at least one."""
    import torch

    from erc_bench.core.errors import UserError

    refusals: list[str] = []
    for layers in (None, LAYERS):
        shape = (BATCH, SPEECH_DIM) if layers is None else (BATCH, layers, SPEECH_DIM)
        stats = torch.zeros(shape[1:]), torch.ones(shape[1:])
        try:
            module = _built(who, component.build, layers, SPEECH_DIM, num_labels, *stats)
        except UserError as exc:
            refusals.append(str(exc))
            continue
        hidden = _feature_dim(who, module)
        with torch.no_grad():
            logits, features = _pair(who, module(torch.randn(shape, generator=generator)), "forward(x)")
        _expect(who, f"logits for input {list(shape)}", logits, (BATCH, num_labels))
        _expect(who, f"features for input {list(shape)}", features, (BATCH, hidden))
    if len(refusals) == 2:
        raise _fail(who, f"build refused both embedding shapes (D,) and (layers, D): {refusals[0]}")


def construct_all(loaded: Any, num_labels: int) -> dict[str, Any]:
    """Construct every component a spec names and check the module kinds' contracts: done at set-up, before
    any ASR, labelling or training, so a constructor that raises or a module of the wrong shape costs
    seconds. Returns the built components by slot (``model.fusion_head``, ``datasets.0``, ...)."""
    from erc_bench.core.spec import component_slots

    built: dict[str, Any] = {}
    for key_path, kind, plugin, _ in component_slots(loaded.spec):
        component = loaded.build(key_path)
        try:
            check_module(kind, plugin, component, num_labels)
        except ComponentError as exc:
            raise ComponentError(f"{key_path}: {exc}") from exc.__cause__
        built[key_path] = component
    return built



def speaker_aware_slots(built: dict[str, Any]) -> list[str]:
    """The slots whose component reads who is speaking (``SpeakerAware``), for the run's tags and notes."""
    from erc_bench.core.capabilities import SpeakerAware

    return sorted(slot for slot, c in built.items() if isinstance(c, SpeakerAware) and c.uses_speaker_identity())
