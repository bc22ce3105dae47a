"""The notebook's environment set-up: Google Colab or a local Jupyter kernel.

``mono_s2s.ipynb`` calls :func:`setup` once, before anything else of the package.

* **Local Jupyter** (the kernel of ``setup_conda_env.sh``): nothing is installed or
  mounted; the output folder is the one asked for.
* **Colab**: the package is installed from the repository with pip (see
  :func:`ensure_installed` for when that is skipped) and, when asked, Google Drive
  is mounted and the output folder moved onto it, so that checkpoints, attack
  records and wandb runs outlive the session. Running the notebook again in a new
  session then resumes from them (finished models are not retrained).

Wherever the outputs go, the kernel then holds that folder's lock
(:func:`mono_s2s.lock.hold_until_exit`) until it shuts down: the notebook runs the
pipeline one stage per cell, so no single call spans them, and a second notebook
or a ``mono-s2s`` command on the same folder is refused with one line instead of
training the same models again. A kernel that was killed leaves a stale lock,
which the next session takes over.

The two calls that reach outside the process -- the pip command
(:func:`pip_install`) and ``google.colab.drive.mount`` -- are kept in one place
each, so tests can replace them.

A fresh Colab runtime cannot import this module before the package is
installed; the notebook's set-up cell therefore starts with a three-line pip
bootstrap for that case only, and :func:`setup` does the rest.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

DRIVE_MOUNT_POINT = "/content/drive"
DEFAULT_DRIVE_DIR = "/content/drive/MyDrive/mono-s2s"
DISTRIBUTION = "mono-s2s"


def in_colab() -> bool:
    """True inside a Google Colab runtime (the same test that names the wandb runs ``colab_...``)."""
    from mono_s2s.tracking import detect_env

    return detect_env() == "colab"


def pip_install(spec: str) -> None:
    """``python -m pip install --upgrade SPEC`` into the running interpreter (the one boundary to pip).

    ``--upgrade`` makes pip replace an installed mono-s2s of the same version taken
    from somewhere else; dependencies are upgraded only where needed (pip's default
    strategy), so Colab's own torch is kept.
    """
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--upgrade", spec], check=True)


def installed_from() -> tuple[str, str | None] | None:
    """Where pip installed mono-s2s from: ``(url, revision)`` from its PEP 610 record, or None.

    None for an install without that record (an old-style editable install, a
    wheel from an index) and when the package is not installed at all.
    """
    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(record, dict) or not record.get("url"):
        return None
    return _repository(record["url"])[0], (record.get("vcs_info") or {}).get("requested_revision")


def _repository(url: str) -> tuple[str, str | None]:
    """``git+https://host/org/repo.git@rev#egg=x`` -> ``("https://host/org/repo", "rev")``."""
    url = url.strip().removeprefix("git+").split("#", 1)[0]
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    rev = None
    if "@" in path:  # an @ after the host names a branch, tag or commit
        path, rev = path.rsplit("@", 1)
    return f"{scheme}://{host}/{path.rstrip('/').removesuffix('.git')}", rev or None


def ensure_installed(repo_url: str) -> bool:
    """Install the package from ``repo_url`` unless the installed one came from there; True if pip ran.

    Skipped when pip's record says mono-s2s was installed from ``repo_url``: a
    second run of the notebook in the same session does not reinstall (pin a
    branch or commit in the URL, ``...repo@branch``, to get newer code). When it
    came from elsewhere (another fork, a local copy, an older URL) it is
    reinstalled from ``repo_url``, and the package's modules already imported
    by this kernel are dropped so that the notebook's next imports load the new
    code. (A changed dependency that was already imported -- torch, numpy --
    still needs "Runtime > Restart session".)
    """
    if installed_from() == _repository(repo_url):
        return False
    pip_install(repo_url if repo_url.startswith("git+") else f"git+{repo_url}")
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m == "mono_s2s" or m.startswith("mono_s2s.")]:
        if name != __name__:
            del sys.modules[name]
    return True


def mount_google_drive() -> None:
    """Mount Google Drive at ``/content/drive`` (asks for permission in the browser)."""
    from google.colab import drive

    drive.mount(DRIVE_MOUNT_POINT)


def setup(repo_url: str, output_dir: str | Path, mount_drive: bool = False,
          drive_dir: str | Path = DEFAULT_DRIVE_DIR) -> Path:
    """Prepare the environment and return the experiment's output folder.

    Locally: returns ``Path(output_dir)`` and only takes its lock. In Colab: makes
    sure the package is installed from ``repo_url`` (:func:`ensure_installed`);
    with ``mount_drive`` mounts Drive and returns ``drive_dir / output_dir`` (an
    absolute ``output_dir`` is kept as given); without it the outputs stay on the
    runtime's disk and are lost when the session ends. Either way the folder's
    lock is held until the kernel exits (see the module docstring).
    """
    output_dir = Path(output_dir)
    if not in_colab():
        print(f"local Jupyter: outputs in {output_dir.resolve()}", flush=True)
        return _held(output_dir)
    if ensure_installed(repo_url):
        print(f"colab: installed mono-s2s from {repo_url}", flush=True)
        # The new code raises its own UserError class: show that one as one line too (mono_s2s.notebook).
        with contextlib.suppress(ImportError):
            importlib.import_module("mono_s2s.notebook").show_user_errors()
    if not mount_drive:
        print(f"colab: outputs in {output_dir.resolve()} (on the runtime's disk: lost when the session ends; "
              "set MOUNT_DRIVE = True to keep them)", flush=True)
        return _held(output_dir)
    mount_google_drive()
    out = output_dir if output_dir.is_absolute() else Path(drive_dir) / output_dir
    out.mkdir(parents=True, exist_ok=True)
    print(f"colab: Google Drive mounted; outputs in {out} (kept across sessions)", flush=True)
    return _held(out)


def _held(out: Path) -> Path:
    """``out``, with its lock held by this kernel until it exits (a one-line UserError if another process has it)."""
    from mono_s2s.lock import hold_until_exit

    hold_until_exit(out)
    return out
