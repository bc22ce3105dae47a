"""A pretrained T5 through the whole experiment: ``mono-s2s run --set model.pretrained=FOLDER``.

The hub is unreachable here, so the test builds small T5 models in both FFN styles -- the original ReLU
``wi``/``wo`` (t5-small) and the gated v1.1 ``wi_0``/``wi_1``/``wo`` -- with a tokenizer, saves them with
``save_pretrained`` as the hub ships them (with T5's ``summarize: `` prefix in ``task_specific_params``),
and runs the experiment from that folder on a DialogSum-format corpus: the tokenizer comes from the model,
the monotone arm's FFN is converted from the pretrained weights, every source gets the prefix, and the test
references are all scored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import T5Config, T5ForConditionalGeneration

from conftest import SMALLEST_RUN_SETS
from mono_s2s.cli import main
from mono_s2s.config import build_config
from mono_s2s.data.records import Record
from mono_s2s.tokenizer import train_tokenizer
from test_formats import dialogsum_folder, dialogsum_rows

# The smallest run, minus the from-scratch sizes (a pretrained model brings its own) and the synthetic sizes.
SETS = tuple(s for s in SMALLEST_RUN_SETS if not s.startswith(("model.", "data.n_"))) + (
    "train.epochs=1", "train.batch_size=8", "train.matched=false", "data.max_source_tokens=48",
    "data.max_summary_tokens=24")


def save_t5(folder: Path, feed_forward_proj: str) -> Path:
    """A 1 + 1 layer T5 with ``feed_forward_proj`` and its own BPE tokenizer, saved as a hub model folder."""
    records = [Record(r["fname"], r["dialogue"], r["summary"]) for r in dialogsum_rows("train", 30)]
    tokenizer = train_tokenizer(records, 120)
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1,
                      num_heads=2, feed_forward_proj=feed_forward_proj, pad_token_id=0, eos_token_id=1,
                      decoder_start_token_id=0,
                      task_specific_params={"summarization": {"prefix": "summarize: ", "max_length": 200}})
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("style,weights", [("relu", ("wi", "wo")), ("gated-gelu", ("wi_0", "wi_1", "wo"))],
                         ids=["relu-wi-wo", "gated-wi0-wi1-wo"])
def test_a_pretrained_t5_runs_the_whole_experiment(tmp_path, capsys, style, weights):
    model_dir = save_t5(tmp_path / "my-t5", style)
    pretrained = load_file(str(model_dir / "model.safetensors"))
    ffn_keys = {k.rsplit(".", 2)[-2] for k in pretrained if ".DenseReluDense." in k}
    assert ffn_keys == set(weights)  # the style under test, as HF saves it
    data = dialogsum_folder(tmp_path, sizes=(40, 6, 4))
    out = tmp_path / "out"
    argv = ["run", "--wandb", "disabled", "--data", str(data), "--out", str(out),
            "--set", f"model.pretrained={model_dir}", *(w for s in SETS for w in ("--set", s))]
    code = main(argv)
    stdout = capsys.readouterr().out
    assert code == 0
    assert f"tokenizer: {model_dir}'s own" in stdout
    assert "every source is prefixed with 'summarize: '" in stdout  # read from the model's config
    assert build_config("tiny", overrides=[f"model.pretrained={model_dir}"]).data.source_prefix == "summarize: "

    # The baseline keeps the pretrained FFN; the monotone arm's started from its weights and is monotone.
    for slug, variant in (("nonmono", "baseline"), ("mono", "monotonic")):
        best = out / "checkpoints" / slug / "best"
        config = json.loads((best / "config.json").read_text())
        assert config["ffn_variant"] == variant and config["feed_forward_proj"] == style
        saved = load_file(str(best / "model.safetensors"))
        ffn = {k.split(".DenseReluDense.")[1] for k in saved if ".DenseReluDense." in k}
        if variant == "baseline":  # T5's own FFN, as pretrained: wi.weight, wo.weight (or wi_0, wi_1, wo)
            assert ffn == {f"{w}.weight" for w in weights}
        else:  # every matrix constrained (PositiveLinear's raw_weight), none left plain
            assert ffn and all(k.endswith(("raw_weight", "bias")) for k in ffn), ffn
    assert main(["check", str(out / "checkpoints" / "mono" / "best")]) == 0
    assert json.loads(capsys.readouterr().out)["ffn_monotone"] is True

    # Clean quality against all three DialogSum test references, with the prefix the model saw.
    training = json.loads((out / "results" / "training_mono.json").read_text())
    assert set(training["clean"]) >= {"rougeL", "rougeL_refmean"}
    assert all(len(p["references"]) == 3 for p in training["predictions"])
    assert training["clean"]["rougeL"]["mean"] >= training["clean"]["rougeL_refmean"]["mean"]
    results = json.loads((out / "results" / "adversarial_results.json").read_text())
    assert results["config"]["data"]["source_prefix"] == "summarize: "
    assert set(results["models"]) == {"nonmono", "mono"}
    assert all(results["attacks"][attack][slug] for attack in results["attacks"] for slug in ("nonmono", "mono"))
