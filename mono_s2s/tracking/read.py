"""Reading a wandb run back from its files (``wandb leet inspect --json``): for tests and the notebook."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def _wandb_executable() -> str:
    bin_dir = Path(sys.executable).parent
    for name in ("wandb", "wandb.exe"):
        if (bin_dir / name).is_file():
            return str(bin_dir / name)
    found = shutil.which("wandb")
    if not found:
        raise FileNotFoundError("the wandb command-line tool is not installed (next to python or on PATH)")
    return found


def _fold_media(item: dict) -> dict:
    """wandb stores a media value (table, image) as flat ``KEY._type``, ``KEY.path``, ... entries;
    fold them back under ``KEY`` so the keys read back are the keys that were logged."""
    bases = {k[: -len("._type")] for k in item if k.endswith("._type")}
    out: dict = {}
    for k, v in item.items():
        base = next((b for b in bases if k.startswith(b + ".")), None)
        if base is None:
            out[k] = v
        else:
            out.setdefault(base, {})[k[len(base) + 1:]] = v
    return out


def read_run(run_dir: Path) -> dict:
    """Parse a run's ``.wandb`` log with ``wandb leet inspect --json``.

    ``run_dir`` is a run folder (``.../offline-run-*``), its ``.wandb`` file, or a
    ``wandb`` folder (its latest run). Returns ``history_keys`` (every key of every
    history row, media folded to their logged key), ``summary`` and ``config`` (all
    updates merged, wandb's internal ``_wandb`` entry dropped), ``tags``, ``name``,
    ``project``, ``run_id``, ``job_type``, ``group``, ``sweep_id`` (set only on a sweep's
    trial run), ``artifacts`` (name, type, files, metadata),
    ``exit_code`` and the raw ``records``.
    """
    proc = subprocess.run([_wandb_executable(), "leet", "inspect", "--json", str(run_dir)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"wandb leet inspect failed for {run_dir}: {detail}")
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    out: dict[str, Any] = {"history_keys": set(), "summary": {}, "config": {}, "tags": [], "name": None,
                           "project": None, "run_id": None, "job_type": None, "group": None, "sweep_id": None,
                           "artifacts": [], "exit_code": None,
                           "records": records}
    for rec in records:
        kind = rec.get("type")
        body = rec.get(kind) or {}
        if kind == "run":
            out["name"] = body.get("display_name")
            out["tags"] = list(body.get("tags") or [])
            out["project"] = body.get("project")
            out["run_id"] = body.get("run_id")
            out["job_type"] = body.get("job_type")
            out["group"] = body.get("run_group")
            out["sweep_id"] = body.get("sweep_id")
            out["config"].update((body.get("config") or {}).get("update") or {})
        elif kind == "config":
            out["config"].update(body.get("update") or {})
            for removed in body.get("remove") or []:
                out["config"].pop(removed.get("key") if isinstance(removed, dict) else removed, None)
        elif kind == "history":
            out["history_keys"].update(_fold_media(body.get("item") or {}))
        elif kind == "summary":
            out["summary"].update(_fold_media(body.get("update") or {}))
            for removed in body.get("remove") or []:
                out["summary"].pop(removed.get("key") if isinstance(removed, dict) else removed, None)
        elif kind == "artifact":
            meta = body.get("metadata")
            try:
                meta = json.loads(meta) if isinstance(meta, str) else (meta or {})
            except json.JSONDecodeError:
                pass
            files = [c.get("path") for c in (body.get("manifest") or {}).get("contents") or []]
            out["artifacts"].append({"name": body.get("name"), "type": body.get("type"), "files": files,
                                     "metadata": meta})
        elif kind == "exit":
            out["exit_code"] = body.get("exit_code", 0)
    out["config"].pop("_wandb", None)
    return out


__all__ = ["read_run"]
