"""One process at a time per output folder: the lock file ``OUT/.mono-s2s.lock``.

Two commands writing into one ``--out`` would both train and attack everything
(double work, twice the wandb runs) and could collide on a temporary name. So
whatever writes into an output folder holds its lock: ``mono_s2s.cli.main`` for
the verbs that write (run, train, attack, report; not ``check``, which only
reads) for the length of the command, and :func:`mono_s2s.colab.setup` for the
life of a notebook kernel (the notebook calls the pipeline stages one cell at a
time, so no single call spans them).

* **Taken atomically**: ``os.open(O_CREAT | O_EXCL)``; the file holds the PID,
  host, start time and command of its holder (JSON).
* **Released** when the command ends, also on an exception or Ctrl-C (a context
  manager), and at interpreter exit for a kernel's lock.
* **Stale locks**: a killed process cannot release its lock. A lock whose PID no
  longer runs on this host (or runs a later process that reused the number, told
  apart by its start time in ``/proc``) is taken over with one warning line. A
  lock written on another host (a shared disk, a new Colab runtime on the same
  Drive) cannot be checked by PID: its holder touches it every
  :data:`HEARTBEAT_S` seconds, and one left untouched for :data:`STALE_AFTER_S`
  is taken over.
* **Live locks** are refused with one line (a :class:`~mono_s2s.errors.UserError`)
  naming the folder, the holder's PID and what to do.
* **Re-entrant** within one process: the notebook's cells, or ``cli.main`` called
  again by a test, take a lock this process already holds.
* **Nested folders**: ``--seeds N`` writes ``OUT/seed_k``, and a command may be
  pointed at a seed folder directly. Seed folders take no lock of their own: a
  folder counts as busy when a live lock of another process is in it, in a folder
  above it, or in a folder directly inside it. So ``attack --out OUT/seed_0`` is
  refused while ``run --seeds 3 --out OUT`` (or a notebook on ``OUT``) holds OUT,
  and ``run --seeds 3 --out OUT`` is refused, before it starts, while a command
  holds ``OUT/seed_0``. The new lock is written before the others are looked at,
  so of two processes starting together at least one sees the other.

Only rank 0 of a distributed launch (torchrun, ``accelerate launch``) locks: the
ranks of one launch share the folder by design.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from mono_s2s.errors import UserError, warn
from mono_s2s.processes import pid_alive, proc_stat, process_rank

LOCK_NAME = ".mono-s2s.lock"
HEARTBEAT_S = 60.0  # how often a holder touches its lock files
STALE_AFTER_S = 600.0  # a lock from another host untouched this long is stale
_YOUNG_S = 10.0  # an unreadable lock file younger than this is being written, not broken

_held: dict[Path, int] = {}  # folder -> nesting depth, for the locks this process holds
_created: dict[Path, list[Path]] = {}  # folder -> the folders its lock created, deepest first (removed if left empty)
_for_life: set[Path] = set()  # folders held until the interpreter exits (a notebook kernel's)
_mutex = threading.RLock()
_heartbeat: threading.Thread | None = None


def lock_path(folder: str | Path) -> Path:
    return Path(folder) / LOCK_NAME


def _holder() -> dict:
    stat = proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(), "proc_start": stat[1] if stat else None,
            "started": datetime.datetime.now().isoformat(timespec="seconds"), "command": _command()}


def _command() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if "ipykernel" in name:
        return "a Jupyter kernel"
    if name in ("__main__.py", "mono-s2s"):
        name = "mono-s2s"
    text = " ".join([name, *sys.argv[1:]])
    return text if len(text) <= 120 else text[:117] + "..."


def _alive(info: dict) -> bool:
    """Is the holder recorded in a lock file from this host still running?"""
    try:
        pid = int(info["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    if not pid_alive(pid):
        return False
    stat = proc_stat(pid)
    recorded = info.get("proc_start")
    return stat is None or recorded is None or recorded == stat[1]  # a different start time: the PID was reused


def _read(path: Path) -> tuple[str, dict | None]:
    """The lock file's text and its parsed holder (None when it is not a complete lock record)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        info = json.loads(text)
    except ValueError:
        return text, None
    return text, info if isinstance(info, dict) and "pid" in info else None


def _is_ours(info: dict | None) -> bool:
    return bool(info) and info.get("pid") == os.getpid() and info.get("host") == socket.gethostname()


def _verdict(path: Path) -> tuple[str, str, dict | None]:
    """``("gone" | "ours" | "live" | "stale", text, holder)`` for the lock file at ``path``."""
    try:
        text, info = _read(path)
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return "gone", "", None
    if info is None:  # created but not written yet (or a broken file)
        return ("live" if age < _YOUNG_S else "stale"), text, None
    if _is_ours(info):
        return "ours", text, info
    if info.get("host") != socket.gethostname():
        return ("live" if age < STALE_AFTER_S else "stale"), text, info
    return ("live" if _alive(info) else "stale"), text, info


def _describe(info: dict | None, path: Path) -> str:
    if info is None:
        return f"a process that is writing its lock file {path}"
    where = "" if info.get("host") == socket.gethostname() else f" on host {info.get('host')}"
    return f"{info.get('command') or 'another process'} (PID {info.get('pid')}{where}, since {info.get('started')})"


def _refuse(folder: Path, path: Path, info: dict | None) -> UserError:
    what = f"output folder {folder} is in use by {_describe(info, path)}"
    if path.parent != folder:
        what += f", which holds {path.parent}"
    if info is not None and info.get("host") != socket.gethostname():
        hint = (f"wait for it to end; if it is gone, delete {path} (it is taken over anyway "
                f"{STALE_AFTER_S / 60:.0f} min after its holder last touched it)")
    else:
        hint = f"wait for it to end or stop it, or use another output folder (the lock is {path})"
    return UserError(f"{what}; {hint}")


def _take_over(path: Path, seen: str, info: dict | None) -> None:
    """Remove the stale lock at ``path`` if it is still the one judged stale (``seen``), with one warning."""
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return  # another process took it over first; the caller tries again
    if aside.read_text(encoding="utf-8", errors="replace") != seen:
        os.replace(aside, path)  # a newcomer's fresh lock, not the stale one: put it back
        return
    aside.unlink(missing_ok=True)
    who = (f"PID {info.get('pid')} on host {info.get('host')}, since {info.get('started')}" if info
           else "an unreadable lock file")
    warn(f"took over the lock of {path.parent} left by {who}, which is no longer running")


def _create(path: Path) -> bool:
    """Write this process's lock file at ``path``; False if one exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(_holder()))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:  # a full disk, say: leave no empty lock behind
        path.unlink(missing_ok=True)
        raise
    return True


def _relatives(folder: Path) -> list[Path]:
    """The lock files that also guard ``folder``: in each folder above it and in each folder directly inside it."""
    above = [lock_path(p) for p in folder.parents]
    try:
        inside = [lock_path(p) for p in folder.iterdir() if p.is_dir()]
    except OSError:
        inside = []
    return [p for p in above + inside if p.exists()]


def _make_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    new = [folder, *(p for p in folder.parents if not p.exists())]
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise UserError(f"output folder {folder} is a file, not a folder") from None
        return
    except (PermissionError, NotADirectoryError) as e:
        raise UserError(f"cannot create output folder {folder}: {e.strerror}") from None
    _created[folder] = new


def _remove_created(folder: Path) -> None:
    """Remove the folders the lock of ``folder`` created, if nothing was written into them."""
    for p in _created.pop(folder, []):
        try:
            p.rmdir()
        except OSError:
            return


def _acquire(folder: Path) -> None:
    _make_folder(folder)
    try:
        _take(folder)
    except BaseException:
        if folder not in _held:
            _remove_created(folder)
        raise


def _take(folder: Path) -> None:
    path = lock_path(folder)
    for _ in range(20):  # each turn removes one stale lock or returns
        if _create(path):
            break
        verdict, seen, info = _verdict(path)
        if verdict == "ours":  # this process already holds it (a module reloaded by the notebook's set-up)
            _held[folder] = 0
            return
        if verdict == "live":
            raise _refuse(folder, path, info)
        if verdict == "stale":
            _take_over(path, seen, info)
    else:
        raise UserError(f"could not take the lock {path}: other processes keep replacing it")
    _held[folder] = 0
    for other in _relatives(folder):
        verdict, _, info = _verdict(other)
        if verdict == "live":
            _release_file(folder)
            raise _refuse(folder, other, info)
    _start_heartbeat()


def _release_file(folder: Path) -> None:
    path = lock_path(folder)
    _held.pop(folder, None)
    try:
        _, info = _read(path)
        if _is_ours(info):
            path.unlink()
    except OSError:
        pass
    _remove_created(folder)  # a command that failed before writing anything leaves no folder behind


def _start_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is not None and _heartbeat.is_alive():
        return

    def beat() -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with _mutex:
                folders = list(_held)
            for folder in folders:
                with contextlib.suppress(OSError):
                    os.utime(lock_path(folder))

    _heartbeat = threading.Thread(target=beat, name="mono-s2s-lock-heartbeat", daemon=True)
    _heartbeat.start()


def _key(folder: str | Path) -> Path:
    return Path(os.path.abspath(Path(folder).expanduser()))


def acquire(folder: str | Path) -> Path:
    """Take the lock of ``folder`` (created if missing) or raise a one-line UserError; re-entrant."""
    folder = _key(folder)
    with _mutex:
        if folder in _held:
            _held[folder] += 1
        else:
            _acquire(folder)
    return folder


def release(folder: str | Path) -> None:
    """Undo one :func:`acquire`; the last one removes the lock file."""
    folder = _key(folder)
    with _mutex:
        if folder not in _held:
            return
        if _held[folder] > 0:
            _held[folder] -= 1
        else:
            _release_file(folder)


@contextlib.contextmanager
def hold(folder: str | Path | None):
    """``with hold(out):`` -- the lock of ``out`` for the block (nothing for None, or off rank 0)."""
    if folder is None or process_rank() != 0:
        yield
        return
    key = acquire(folder)
    try:
        yield
    finally:
        release(key)


def hold_until_exit(folder: str | Path) -> None:
    """Take the lock of ``folder`` for the rest of this process (a notebook kernel); idempotent."""
    if process_rank() != 0:
        return
    folder = _key(folder)
    with _mutex:
        if folder in _for_life:
            return
        acquire(folder)
        _for_life.add(folder)
    atexit.register(release, folder)


__all__ = ["LOCK_NAME", "lock_path", "acquire", "release", "hold", "hold_until_exit"]
