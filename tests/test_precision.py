"""GPU precision settings on CPU (issue 13): validation, the resolution table, TF32, compile plumbing, the
attack objective under autocast, and training that stays bit for bit on CPU with ``auto``."""

from __future__ import annotations

import json
import types

import pytest
import torch
from torch.nn import functional as F

from mono_s2s.config import build_config
from mono_s2s.errors import UserError
from mono_s2s.precision import autocast, enable_tf32, maybe_compile, resolve_precision

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- config ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["train.precision", "attacks.precision"])
def test_a_precision_that_is_not_one_of_the_four_is_refused_naming_its_key(key):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=[f"{key}=half"])
    assert f"'{key}'" in str(e.value) and "auto, fp32, bf16, fp16" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("value", ["auto", "fp32", "bf16", "fp16"])
def test_every_precision_and_compile_are_accepted(value):
    cfg = build_config("tiny", overrides=[f"train.precision={value}", f"attacks.precision={value}",
                                          "train.compile=true", "attacks.compile=true"])
    assert (cfg.train.precision, cfg.attacks.precision) == (value, value)
    assert cfg.train.compile is True and cfg.attacks.compile is True
    defaults = build_config("tiny")
    assert (defaults.train.precision, defaults.attacks.precision) == ("auto", "auto")
    assert defaults.train.compile is False and defaults.attacks.compile is False


# -- resolution ------------------------------------------------------------------------------------------------

def _fake_cuda(monkeypatch, major: int) -> None:
    """A CUDA GPU of compute capability (major, 0) as torch.cuda sees it (torch's own is_bf16_supported runs)."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: types.SimpleNamespace(major=major))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, 0))
    # On a T4, torch's default is_bf16_supported() says True (emulated bf16): resolve_precision must not ask that.
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda device: True, raising=False)


@pytest.mark.parametrize("setting, expected", [("auto", "fp32"), ("fp32", "fp32"), ("bf16", "bf16")])
def test_on_cpu_auto_is_fp32_and_explicit_settings_stand(setting, expected):
    assert resolve_precision(setting, "cpu") == expected
    assert resolve_precision(setting, torch.device("cpu")) == expected


def test_fp16_off_cuda_is_refused_naming_the_key():
    # accelerate would silently train in fp32 there (no gradient scaler off CUDA).
    with pytest.raises(UserError, match=r"'train.precision'.*fp16 needs a CUDA GPU") as e:
        resolve_precision("fp16", "cpu", "train.precision")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("major, auto", [(8, "bf16"), (9, "bf16"), (7, "fp16"), (6, "fp16")])
def test_on_cuda_auto_is_bf16_with_native_bf16_and_fp16_before_it(monkeypatch, major, auto):
    _fake_cuda(monkeypatch, major)
    assert resolve_precision("auto", "cuda") == auto
    assert resolve_precision("fp32", "cuda:0") == "fp32"
    assert resolve_precision("fp16", "cuda") == "fp16"
    if auto == "bf16":
        assert resolve_precision("bf16", "cuda") == "bf16"
    else:
        with pytest.raises(UserError, match=r"'attacks.precision'.*no native bf16"):
            resolve_precision("bf16", "cuda", "attacks.precision")


def test_an_unknown_setting_is_refused_by_resolution_too():
    with pytest.raises(UserError, match=r"'train.precision': 'fp64' is not one of auto, fp32, bf16, fp16"):
        resolve_precision("fp64", "cpu", "train.precision")


@pytest.fixture
def tf32_off():
    """TF32 switched off for the test and put back after it (torch's switches are process-wide; monkeypatch
    cannot restore the matmul one, a module object with its own __setattr__)."""
    was = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = was


@pytest.mark.parametrize("major, on", [(8, True), (7, False)])
def test_tf32_is_turned_on_only_on_cuda_gpus_that_have_it(monkeypatch, tf32_off, major, on):
    assert enable_tf32("cpu") is False
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    _fake_cuda(monkeypatch, major)
    assert enable_tf32("cuda") is on
    assert torch.backends.cuda.matmul.allow_tf32 is on and torch.backends.cudnn.allow_tf32 is on


# -- compile ---------------------------------------------------------------------------------------------------

def test_compile_is_in_place_and_off_by_default(model, tok):
    import copy

    plain = copy.deepcopy(model)
    assert maybe_compile(plain, False) is plain and getattr(plain, "_compiled_call_impl", None) is None
    compiled = copy.deepcopy(model).eval()
    # backend="eager": dynamo traces the model but inductor generates no code, so this takes seconds on CPU.
    assert maybe_compile(compiled, True, backend="eager") is compiled
    assert compiled._compiled_call_impl is not None  # what nn.Module.__call__ runs from now on
    assert type(compiled) is type(model) and list(compiled.state_dict()) == list(model.state_dict())
    x, y = torch.tensor([[5, 6, 7, 1]]), torch.tensor([[8, 9, 1]])
    with torch.no_grad():
        assert torch.equal(compiled(input_ids=x, labels=y).logits, plain.eval()(input_ids=x, labels=y).logits)


def test_compile_does_not_stop_a_checkpoint_being_resumed():
    from mono_s2s.train import SPEED_ONLY

    assert "train.compile" in SPEED_ONLY


# -- the attack objective ----------------------------------------------------------------------------------------

def _pairs(objective, samples):
    return [objective.source_ids(s.source) for s in samples], [objective.label_ids(s.summary) for s in samples]


def _old_nll(objective, sources, labels):
    """Objective.nll_ids without any precision handling: a plain fp32 forward of the objective's own packed
    rows (the batched engine's length buckets), cross-entropy of float32 logits."""
    out = [None] * len(sources)
    for rows in objective._groups(sources, labels):
        input_ids, mask, lab, dec = objective._tensors(sources, labels, rows)
        with torch.no_grad():
            logits = objective.model(input_ids=input_ids, attention_mask=mask, decoder_input_ids=dec).logits
        nll = F.cross_entropy(logits.float().transpose(1, 2), lab, ignore_index=-100, reduction="none")
        keep = lab != -100
        for i, v in zip(rows, ((nll * keep).sum(1) / keep.sum(1).clamp_min(1)).tolist()):
            out[i] = v
    return out


def _old_embedding_grad(objective, sources, labels):
    """Objective.grad_rows without any precision handling, padded as embedding_grad pads."""
    nll, grads = [None] * len(sources), [None] * len(sources)
    for rows in objective._groups(sources, labels):
        input_ids, mask, lab, dec = objective._tensors(sources, labels, rows)
        embeds = objective.model.get_input_embeddings()(input_ids).detach().requires_grad_(True)
        logits = objective.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=dec).logits
        per = objective._per_sample_nll(logits, lab)
        (grad,) = torch.autograd.grad(per.sum(), embeds)
        for r, i in enumerate(rows):
            nll[i], grads[i] = float(per[r].detach()), grad[r, :len(sources[i]) + 1]
    out = torch.zeros((len(grads), max(g.shape[0] for g in grads), grads[0].shape[1]))
    for r, g in enumerate(grads):
        out[r, :g.shape[0]] = g
    return torch.tensor(nll), out


def test_objective_in_fp32_gives_exactly_the_numbers_of_before(model, tok, samples):
    from mono_s2s.attacks.common import Objective

    objective = Objective(model, tok, max_source_tokens=128, max_summary_tokens=48, precision="fp32")
    sources, labels = _pairs(objective, samples)
    assert objective.nll_ids(sources, labels) == _old_nll(objective, sources, labels)
    default = Objective(model, tok, max_source_tokens=128, max_summary_tokens=48)
    assert default.precision == "fp32"
    assert default.nll_ids(sources, labels) == _old_nll(objective, sources, labels)
    nll, grad = objective.embedding_grad(sources, labels)
    old_nll, old_grad = _old_embedding_grad(objective, sources, labels)
    assert torch.equal(nll, old_nll) and torch.equal(grad, old_grad)


def test_objective_in_bf16_runs_under_autocast_and_keeps_the_nll_in_float32(model, tok, samples):
    from mono_s2s.attacks.common import Objective

    fp32 = Objective(model, tok, max_source_tokens=128, max_summary_tokens=48)
    bf16 = Objective(model, tok, max_source_tokens=128, max_summary_tokens=48, precision="bf16")
    sources, labels = _pairs(fp32, samples)
    seen = []
    hook = model.lm_head.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    try:
        low = bf16.nll_ids(sources, labels)
        nll, grad = bf16.embedding_grad(sources, labels)
        high = fp32.nll_ids(sources, labels)
    finally:
        hook.remove()
    # The lm_head ran in bf16 under autocast for every forward of the bf16 objective (scoring, then one gradient
    # forward per row on a CPU), in float32 for the fp32 one (its last forward).
    assert set(seen[:-1]) == {torch.bfloat16} and len(seen) >= 3 and seen[-1] == torch.float32
    # bf16's 8-bit mantissa moves each NLL a little, never much (the sums and the log-softmax are float32).
    assert low != high
    assert max(abs(a - b) for a, b in zip(low, high)) < 0.05 * max(high)
    assert nll.dtype == torch.float32 and grad.dtype == torch.float32 and bool(torch.isfinite(grad).all())
    assert nll.tolist() == pytest.approx(low, rel=0.01)  # the inputs_embeds path: the same NLL, up to bf16 noise
    assert bf16.queries == 2 * len(samples) and fp32.queries == len(samples)


def test_objective_refuses_a_precision_that_is_not_resolved(model, tok):
    from mono_s2s.attacks.common import Objective

    with pytest.raises(ValueError, match="resolved to one of fp32, bf16, fp16 .got 'auto'"):
        Objective(model, tok, max_source_tokens=128, max_summary_tokens=48, precision="auto")


def test_fp32_autocast_is_no_context_at_all():
    import contextlib

    assert isinstance(autocast("cpu", "fp32"), contextlib.nullcontext)
    assert isinstance(autocast("cpu", "bf16"), torch.autocast)


# -- training ----------------------------------------------------------------------------------------------------

# test_train.py's tiny training: its sizes and corpus.
TINY = ["model.d_model=32", "model.d_ff=64", "model.n_heads=4", "train.eval_batch_size=16", "train.batch_size=8",
        "train.epochs=1", "train.matched=false"]


@pytest.fixture(scope="module")
def small_corpus():
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    corpus = generate_corpus(0, 120, 16, 8)
    return corpus, train_tokenizer(corpus["train"], 300)


@pytest.fixture
def fresh_accelerator_state():
    """accelerate keeps one process-wide state and refuses a second mixed_precision in it; a bf16 Trainer on CPU
    must not leave its bf16 to the tests after it (nor meet another test's), so the state is cleared around it."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    yield
    AcceleratorState._reset_state()


def _train(tmp_path, corpus, tok, precision: str):
    from mono_s2s.train import Trainer

    cfg = build_config("tiny", overrides=TINY + [f"train.precision={precision}"])
    trainer = Trainer(cfg, "baseline", corpus, tok, tmp_path / precision, progress=False)
    result = trainer.fit()
    return trainer, result, {k: v.detach().clone() for k, v in trainer.unwrapped.state_dict().items()}


def test_auto_on_cpu_trains_bit_for_bit_as_fp32_and_bf16_does_not(tmp_path, small_corpus, fresh_accelerator_state):
    from mono_s2s.train import STATE_FILE, check_reusable, result_dict

    corpus, tok = small_corpus
    auto, auto_result, auto_weights = _train(tmp_path, corpus, tok, "auto")
    _, fp32_result, fp32_weights = _train(tmp_path, corpus, tok, "fp32")
    assert auto.acc.mixed_precision == "no"
    assert auto_weights.keys() == fp32_weights.keys()
    assert all(torch.equal(auto_weights[k], fp32_weights[k]) for k in auto_weights)
    assert auto_result.best_val_loss == fp32_result.best_val_loss
    # What was used is recorded: in the results (results/training_{slug}.json is result_dict's) and the state.
    assert result_dict(auto_result)["precision"] == "fp32"
    latest = tmp_path / "auto" / "checkpoints" / "nonmono" / "latest"
    assert json.loads((latest / STATE_FILE).read_text())["precision"] == "fp32"

    # A checkpoint trained in another precision is not resumed silently; one from before the setting was fp32.
    cfg = build_config("tiny", overrides=TINY)
    state = json.loads((latest / STATE_FILE).read_text())
    (latest / STATE_FILE).write_text(json.dumps({**state, "precision": "bf16"}))
    with pytest.raises(UserError, match=r"train.precision='bf16', not 'fp32' \(as 'auto' resolves here\); "
                                        r"set train.precision=bf16 to resume it") as e:
        check_reusable(latest, cfg, "baseline", cfg.train.seed)
    assert "\n" not in str(e.value)
    del state["precision"]
    (latest / STATE_FILE).write_text(json.dumps(state))
    import yaml

    from mono_s2s.checkpoint import CONFIG_FILE

    saved = yaml.safe_load((latest / CONFIG_FILE).read_text())
    del saved["train"]["precision"], saved["train"]["compile"]  # written before the keys existed
    (latest / CONFIG_FILE).write_text(yaml.safe_dump(saved))
    check_reusable(latest, cfg, "baseline", cfg.train.seed)
    check_reusable(latest, build_config("tiny", overrides=TINY + ["train.compile=true"]), "baseline", cfg.train.seed)

    # bf16 is really handed to accelerate (CPU autocast): the weights move away from fp32's.
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()  # fresh_accelerator_state clears it again after the test
    bf16, bf16_result, bf16_weights = _train(tmp_path, corpus, tok, "bf16")
    assert bf16.acc.mixed_precision == "bf16" and bf16_result.precision == "bf16"
    assert not all(torch.equal(bf16_weights[k], fp32_weights[k]) for k in fp32_weights)
    assert all(bf16_weights[k].dtype == torch.float32 for k in bf16_weights)  # master weights stay fp32


def test_a_tune_trial_from_before_the_setting_is_read_back_and_one_in_bf16_is_refused(tmp_path):
    import dataclasses

    from mono_s2s.tune import TRIAL_FILE, Trial, _trained_with, check_trials, make_plan, trial_config, trial_dir

    cfg = build_config("tiny", overrides=TINY)
    plan = make_plan(cfg, "baseline", "1e-3", 1)
    folder = trial_dir(tmp_path, "baseline", 1e-3, 1)
    folder.mkdir(parents=True)
    trial = dataclasses.asdict(Trial("baseline", "nonmono", 1e-3, 5.0, 1, 5.0, 5.1, 1, 2, 1.0))
    config = _trained_with(trial_config(cfg, "baseline", 1e-3, 1))
    assert config["train"]["precision"] == "fp32"  # stored as resolved, not as "auto"
    del config["train"]["precision"], config["train"]["compile"]
    (folder / TRIAL_FILE).write_text(json.dumps({"trial": trial, "config": config}))
    check_trials(cfg, tmp_path, plan)
    config["train"]["precision"] = "bf16"
    (folder / TRIAL_FILE).write_text(json.dumps({"trial": trial, "config": config}))
    with pytest.raises(UserError, match=r"train\.precision='bf16', not 'fp32'; use another --out"):
        check_trials(cfg, tmp_path, plan)
