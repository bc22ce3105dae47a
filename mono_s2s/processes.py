"""This process and the others: its rank in a distributed launch, and whether another PID still runs.

Shared by the output-folder lock, the tracker (only rank 0 tracks) and the trainer (a killed run's
temporary folders are cleared when their PID is gone).
"""

from __future__ import annotations

import os
from pathlib import Path


def process_rank() -> int:
    """This process's rank under torchrun / ``accelerate launch`` (0 when not distributed)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start time in clock ticks since boot)`` of a process, from ``/proc`` (None elsewhere)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name, in parentheses, may hold spaces
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Does process ``pid`` of this host still run (a zombie does not)? Another user's process counts as alive."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    stat = proc_stat(pid)
    return stat is None or stat[0] not in ("Z", "X")  # Z, X: exited, not yet reaped by its parent


__all__ = ["process_rank", "proc_stat", "pid_alive"]
