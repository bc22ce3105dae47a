"""Command line: thin verbs over the package (``mono-s2s`` and ``python -m mono_s2s``).

Every verb takes the same configuration flags: ``--preset``, ``--config FILE.yaml``
(repeatable), ``--set SECTION.KEY=VALUE`` (repeatable), and shortcuts for the
common keys. User mistakes print one line and exit 2; bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import signal
import sys
import threading
from pathlib import Path

from mono_s2s.errors import UserError


def _config_flags(p: argparse.ArgumentParser, out: str = "outputs", runs: bool = True) -> None:
    """The configuration flags every verb shares; ``runs=False`` leaves out --wandb and --seeds (a verb that
    logs no runs and trains one seed)."""
    from mono_s2s.config import PRESETS

    p.add_argument("--preset", default=None,
                   help=f"named preset: {', '.join(PRESETS)} (default: the one a --config file names, else tiny)")
    p.add_argument("--config", action="append", default=[], metavar="FILE.yaml",
                   help="YAML file of overrides (sections model/data/train/attacks/tracking); repeatable")
    # nargs="+" so that a wandb sweep's ${args_no_hyphens} (several KEY=VALUE words) fits after one --set.
    p.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override keys, e.g. --set train.lr=3e-4 model.dropout=0.2; repeatable")
    p.add_argument("--data", metavar="SPEC", help="corpus: synthetic, dialogsum, samsum, cnn_dailymail, xsum, arxiv, "
                   "pubmed, seed-mix, news-dialogue-mix, hub:OWNER/NAME[:CONFIG], or a local file or folder "
                   "(official DialogSum/SAMSum/CNN-DM/XSum files, parquet shards, save_to_disk)")
    p.add_argument("--out", default=out, metavar="DIR", help=f"output folder (default: ./{out})")
    if not runs:
        return
    p.add_argument("--wandb", choices=("online", "offline", "disabled"),
                   help="tracking mode (default: online when logged in, else offline)")
    p.add_argument("--seeds", type=int, metavar="N", help="independent model pairs to train and attack")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mono-s2s", description=__doc__.splitlines()[0], epilog=(
        f"Exit codes: 0 done; 2 a mistake to fix (one line names the file, setting or busy folder); 3 training "
        f"diverged (NaN/inf loss or weights); {EXIT_NO_SPACE} no space left on device (nothing is half-written: "
        f"free space and run the same command again); 130 interrupted (Ctrl-C); {EXIT_TERMINATED} terminated "
        f"(SIGTERM); after 130 and {EXIT_TERMINATED} the same command resumes."))
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = sub.add_parser("run", help="the whole pipeline: data, tokenizer, models, training, attacks, report")
    _config_flags(p)
    p = sub.add_parser("train", help="train one model variant")
    _config_flags(p)
    from mono_s2s.config import VARIANTS

    p.add_argument("--variant", required=True, choices=VARIANTS)
    p = sub.add_parser("tune", help="learning-rate search: each variant at several lrs, the same epochs, one seed")
    _config_flags(p, out="outputs/tune", runs=False)
    p.add_argument("--variants", metavar="A,B", help="variants to tune (default: model.variants)")
    p.add_argument("--lrs", metavar="LR,LR,...", help="learning rates to try, the same for every variant "
                   "(default: each variant's configured lr, /3 and x3)")
    p.add_argument("--epochs", type=int, metavar="N", help="budget of every trial in epochs (default: train.epochs)")
    p = sub.add_parser("attack", help="attack the trained models under --out")
    _config_flags(p)
    p = sub.add_parser("report", help="rebuild tables and figures from --out/results")
    p.add_argument("--out", default="outputs", metavar="DIR")
    p = sub.add_parser("check", help="check the FFN monotonicity of a saved checkpoint folder")
    p.add_argument("checkpoint", metavar="DIR")
    p = sub.add_parser("data", help="look at a corpus before training on it")
    data = p.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    p = data.add_parser("inspect", help="detected format and columns, split sizes, token lengths against the "
                        "truncation limits, two examples; writes nothing")
    _config_flags(p, runs=False)  # --out: a run folder whose trained tokenizer to measure with, if it has one
    return parser


def _config(args: argparse.Namespace):
    from mono_s2s.config import build_config

    return build_config(args.preset, args.config, args.overrides, **{"data.spec": args.data,
                        "tracking.mode": getattr(args, "wandb", None), "seeds": getattr(args, "seeds", None)})


def _describe(cfg, prepared) -> None:
    from mono_s2s.pipeline import describe_models, say

    rows = describe_models(cfg, prepared.tokenizer, seed=cfg.train.seed)
    # Relative to the baseline when it is an arm (attention_only is far smaller), else to the first.
    ref = next((r for r in rows if r["variant"] == "baseline"), rows[0])
    base = ref["parameters"]
    for r in rows:
        if r["ffn_monotone"] is None:
            ffn = "no FFN sublayers"
        else:
            verdict = ("monotone: no violation" if r["ffn_monotone"]
                       else f"NOT monotone: {r['violating_pairs']}/{r['pairs']} probe pairs violate")
            ffn = f"FFN {verdict}, min Jacobian entry {r['min_jacobian_entry']:+.3g}"
        vs = "" if r is ref else f" vs {ref['variant']}"
        say(f"model {r['variant']:<14} {r['parameters']:>10,} parameters ({(r['parameters'] - base) / base:+.2%}{vs}), "
            f"{ffn}")


def cmd_run(args: argparse.Namespace) -> int:
    from mono_s2s.pipeline import prepare, quiet_libraries, run_experiment, run_seeds, say
    from mono_s2s.progress import Stages
    from mono_s2s.report import print_seed_table

    quiet_libraries()
    cfg = _config(args)
    out = Path(args.out)
    say(f"mono-s2s run: preset '{cfg.preset}', variants {', '.join(cfg.model.variants)}, {cfg.seeds} seed(s), "
        f"output {out}")
    stages = Stages()
    with stages("prepare (data, tokenizer, checks)"):
        prepared = prepare(cfg, out)
        _describe(cfg, prepared)
    if cfg.seeds == 1:
        results, rep = run_experiment(cfg, prepared, out, stages=stages)
        _show(results, rep)
        if results is not None:
            say(stages.table())
    else:
        _, tables = run_seeds(cfg, prepared, out)
        if tables is not None:  # None: not rank 0 of a launch of several processes
            print_seed_table(tables)
    return 0


def _show(results: dict, rep) -> None:
    """The attack phase's tables (per attack, transfer, triggers), then the analysis."""
    from mono_s2s.attacks.logs import print_results
    from mono_s2s.report import print_report

    if results is None:  # not rank 0 of a launch of several processes: rank 0 shows them
        return
    print_results(results)
    print_report(rep)


def cmd_attack(args: argparse.Namespace) -> int:
    from mono_s2s.attacks.runner import trained_models
    from mono_s2s.pipeline import attack_phase, prepare, quiet_libraries, say
    from mono_s2s.progress import Stages

    quiet_libraries()
    cfg = _config(args)
    out = Path(args.out)
    trained_models(cfg, out)  # before prepare writes a tokenizer and data cache into a folder with no models
    stages = Stages()
    with stages("prepare (data, tokenizer, checks)"):
        corpus = prepare(cfg, out).corpus
    results, rep = attack_phase(cfg, corpus, out, stages=stages)
    _show(results, rep)
    if results is not None:
        say(stages.table())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from mono_s2s.report import build_all

    reports = build_all(Path(args.out))
    for r in reports:
        if r.figure is not None:
            print(f"figure: {r.figure}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from mono_s2s.pipeline import prepare, quiet_libraries, train_variant

    quiet_libraries()
    cfg = _config(args)
    out = Path(args.out)
    prepared = prepare(cfg, out, attacks=False)
    train_variant(cfg, args.variant, prepared, out)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from mono_s2s.pipeline import prepare, quiet_libraries, say
    from mono_s2s.tune import check_trials, make_plan, print_table, tune

    quiet_libraries()
    cfg = _config(args)
    plan = make_plan(cfg, args.variants, args.lrs, args.epochs)  # bad input is refused before any data is made
    out = Path(args.out)
    check_trials(cfg, out, plan)  # and trials left in --out by other settings, before data is loaded
    say(f"mono-s2s tune: preset '{cfg.preset}', {plan.n_trials} trial{'s' * (plan.n_trials > 1)} ("
        + "; ".join(f"{v}: lr {', '.join(f'{lr:g}' for lr in lrs)}" for v, lrs in plan.grid.items())
        + f"), {plan.epochs} epochs each, seed {plan.seed}, output {out}")
    print_table(tune(cfg, prepare(cfg, out, attacks=False), out, plan))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mono_s2s.checkpoint import load_checkpoint
    from mono_s2s.models.checks import check_model

    model, _, _ = load_checkpoint(args.checkpoint)
    reports = check_model(model)
    # No FFN sublayers (attention_only): nothing to check, so neither monotone nor not (null), and said so.
    verdict = {"ffn_monotone": all(r.monotone for r in reports)} if reports else {
        "ffn_monotone": None, "note": "no FFN sublayers: nothing to check"}
    print(json.dumps({"variant": model.ffn_variant, **verdict, "ffn_sublayers": len(reports),
                      "ffns": [asdict(r) for r in reports]}, indent=2))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from mono_s2s.data.overview import inspect
    from mono_s2s.pipeline import quiet_libraries

    quiet_libraries()
    cfg = _config(args)
    print("\n".join(inspect(cfg, Path(args.out))), flush=True)
    return 0


COMMANDS = {"run": cmd_run, "check": cmd_check, "train": cmd_train, "attack": cmd_attack, "report": cmd_report,
            "tune": cmd_tune, "data": cmd_data}


EXIT_NO_SPACE = 4  # a full disk (or quota): not the user's input (2), not a diverged run (3)
_NO_SPACE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# How libraries that wrap the OSError (safetensors: "IoError(Os { code: 28, ... })") still say it.
_NO_SPACE_TEXT = ("no space left on device", "disk quota exceeded")


# torch.save (optimizer and RNG states) reports a failed write without its errno: "[enforce fail at
# inline_container.cc] unexpected pos ...", from "basic_ios::clear: iostream error". Seen with a full
# tmpfs; such an error counts as a full disk when the output folder's disk is (nearly) full right after.
_WRITE_FAILED_TEXT = ("iostream error", "file write failed", "inline_container")
_NEARLY_FULL_BYTES = 16 * 2**20


def _full_disk(exc: BaseException, out: Path | None = None) -> BaseException | None:
    """The exception in ``exc``'s chain (itself, or one it was raised from) that says the disk is full; or None."""
    seen, failed_write = set(), None
    first = exc
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
            return exc
        if any(text in str(exc).lower() for text in _NO_SPACE_TEXT):
            return exc
        if failed_write is None and any(text in str(exc).lower() for text in _WRITE_FAILED_TEXT):
            failed_write = first
        exc = exc.__cause__ or exc.__context__
    if failed_write is not None and out is not None and _free_bytes(Path(out)) < _NEARLY_FULL_BYTES:
        return failed_write
    return None


def _free_bytes(path: Path) -> float:
    """Free bytes on the disk holding ``path`` (its nearest existing parent); infinity when unknown."""
    import shutil

    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return float("inf")


def _free_space(path: Path) -> str:
    free = _free_bytes(path)
    return "free space unknown" if free == float("inf") else f"{free / 2**20:,.0f} MB free there now"


EXIT_TERMINATED = 143  # SIGTERM (128 + 15), as a shell reports it


class _Terminated(BaseException):
    """SIGTERM (a job scheduler, ``kill``, a closing terminal), raised where the program is, so that the lock
    is released and temporary files are removed on the way out, as on Ctrl-C."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated()


@contextlib.contextmanager
def _sigterm_unwinds():
    """While the command runs, SIGTERM unwinds the stack like Ctrl-C (only the main thread can set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    from mono_s2s import lock

    args = build_parser().parse_args(argv)
    # Every verb with --out writes into it and holds its lock for the whole command (check and data only read).
    out = getattr(args, "out", None) if args.verb != "data" else None
    try:
        with _sigterm_unwinds(), lock.hold(out):
            return COMMANDS[args.verb](args)
    except UserError as e:
        print(f"mono-s2s: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("mono-s2s: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("mono-s2s: terminated (SIGTERM); finished work is kept: run the same command to resume",
              file=sys.stderr)
        return EXIT_TERMINATED
    except Exception as e:
        # A full disk, wherever it struck: every write is atomic, so nothing is half-written and the
        # same command resumes once there is space; a traceback would add nothing.
        full = _full_disk(e, out)
        if full is None:
            raise
        filename = getattr(full, "filename", None)  # os.write and friends do not name the file
        where = Path(filename) if filename else Path(out or ".")
        what = f"writing {where}" if filename else f"writing under {where}"
        print(f"mono-s2s: error: no space left on device {what} ({_free_space(where)}); free some space and run "
              "the same command again: finished work is kept", file=sys.stderr)
        return EXIT_NO_SPACE


if __name__ == "__main__":
    raise SystemExit(main())
