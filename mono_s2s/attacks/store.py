"""The record store: every finished (attack, model, sample) record, one JSON line each, never recomputed.

``results/attack_records.jsonl`` is the experiment: each record took an attack's
compute. Records are appended (and flushed) as samples finish, so a killed phase
resumes without redoing them; a line cut by the kill, or damaged later, is
skipped with one warning and the file is rewritten (atomically) without it.
"""

from __future__ import annotations

import json
from pathlib import Path

from mono_s2s.attacks.common import AttackRecord, BadRecord
from mono_s2s.errors import warn

__all__ = ["RECORDS_FILE", "RecordStore", "key"]

RECORDS_FILE = "attack_records.jsonl"


class RecordStore:
    """Append-only JSONL of finished records; what is in it is never recomputed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[AttackRecord] = []
        if path.is_file():
            self._load()
        self.done = {key(r) for r in self.records}

    def _load(self) -> None:
        """Every valid line becomes a record; bad lines are skipped, named in one warning and dropped from the file.

        A bad line is most often the last one, cut by a kill mid-write. One in the
        middle (a disk fault, a hand edit) must not cost the valid records after it:
        each took an attack's compute. A line is bad when it is not JSON, not an
        object, or a field is missing or of the wrong type (:meth:`AttackRecord.from_dict`).
        The file is rewritten (atomically) without the bad lines, so that records
        appended later never follow a broken line.
        """
        from mono_s2s.checkpoint import write_text_atomically

        data = self.path.read_bytes()
        lines = data.split(b"\n")
        good: list[str] = []  # the valid lines, verbatim
        bad: list[tuple[int, str]] = []  # (line number, what is wrong)
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
                record = AttackRecord.from_dict(json.loads(line))
            except UnicodeDecodeError:
                bad.append((number, "not UTF-8 text"))
            except json.JSONDecodeError:
                # The file ends in a newline after every complete record: a last line without one was cut.
                bad.append((number, "cut off mid-write" if number == len(lines) else "not valid JSON"))
            except BadRecord as e:
                bad.append((number, str(e)))
            else:
                self.records.append(record)
                good.append(line)
        if not bad:
            if data and not data.endswith(b"\n"):  # a hand-edited last line: the next record must not join it
                write_text_atomically(self.path, "".join(line + "\n" for line in good))
            return
        if len(bad) == 1:
            what = f"bad line {bad[0][0]} ({bad[0][1]}); its sample"
        else:
            numbers = ", ".join(str(n) for n, _ in bad[:10]) + (", ..." if len(bad) > 10 else "")
            what = f"{len(bad)} bad lines ({numbers}; line {bad[0][0]}: {bad[0][1]}); their samples"
        warn(f"{self.path}: skipped {what} will be attacked again")
        write_text_atomically(self.path, "".join(line + "\n" for line in good))

    def add(self, record: AttackRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record.to_dict()) + "\n")
            fh.flush()
        self.records.append(record)
        self.done.add(key(record))

    def rewrite(self) -> None:
        """Replace the file with the records in memory, atomically (the records are the experiment)."""
        from mono_s2s.checkpoint import write_text_atomically

        write_text_atomically(self.path, "".join(json.dumps(r.to_dict()) + "\n" for r in self.records))

    def get(self, attack: str, model: str, budget: int | None = None) -> dict[str, AttackRecord]:
        """``{sample id: record}`` of one attack and model; at one budget point when ``budget`` is given."""
        return {r.sample_id: r for r in self.records
                if r.attack == attack and r.model == model and (budget is None or r.budget == budget)}


def key(record: AttackRecord) -> tuple[str, str, str, int | None]:
    """What makes a record unique in the store: one attack on one sample of one model at one budget point."""
    return record.attack, record.model, record.sample_id, record.budget
