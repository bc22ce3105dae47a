"""Local corpora: one .jsonl/.json/.csv/.parquet file, or a folder of split files.

A single file is the train split (validation and test are carved from it by
:mod:`mono_s2s.data.splits`). A folder holds ``train.*`` and optionally
``validation.*`` (or ``val.*``/``dev.*``) and ``test.*``, each in any of the
supported formats.

Every problem with the data is a :class:`~mono_s2s.errors.UserError` naming
the file and, where there is one, the row and column: the user can fix their
file, so nothing is silently dropped. Rows are numbered from 1 (data rows, not
counting a CSV header; for JSON lines, the line number), and a file without an
``id`` column gets ids ``<file stem>-<row>`` (single file) or
``<folder>-<split>-<row>`` (folder), so an id points at its row.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mono_s2s.config import DataArgs
from mono_s2s.data.common import detect_columns, one_line
from mono_s2s.data.records import Record
from mono_s2s.errors import UserError

EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet")
SPLIT_FILE_STEMS = {"train": ("train",), "validation": ("validation", "val", "dev"), "test": ("test",)}
ID_COLUMN = "id"


@dataclass
class Table:
    """Column-wise contents of one file; ``numbers[i]`` is how row ``i`` is named in messages."""

    columns: dict[str, list[Any]]
    numbers: list[int]
    unit: str  # "row" or "line"


def load_local(path: Path, args: DataArgs) -> dict[str, list[Record]]:
    """The splits present in the file or folder at ``path`` (no carving or caps yet)."""
    if path.is_dir():
        files = split_files(path)
        name = path.resolve().name
        corpus = {split: read_records(file, args, f"{name}-{split}") for split, file in files.items()}
        _check_unique_ids(corpus, files)
        return corpus
    if not path.exists():
        raise UserError(f"data file or folder not found: {path}")
    _check_extension(path)
    return {"train": read_records(path, args, path.stem)}


def split_files(folder: Path) -> dict[str, Path]:
    """``{split: file}`` for the split files in ``folder``; train is required."""
    found: dict[str, list[Path]] = {}
    others = []
    for p in sorted(folder.iterdir()):
        split = next((s for s, stems in SPLIT_FILE_STEMS.items() if p.stem.lower() in stems), None)
        if p.is_file() and split is not None and p.suffix.lower() in EXTENSIONS:
            found.setdefault(split, []).append(p)
        else:
            others.append(p.name)
    for split, paths in found.items():
        if len(paths) > 1:
            raise UserError(f"data folder {folder} has more than one {split} file "
                            f"({', '.join(p.name for p in paths)}); keep one")
    if "train" not in found:
        present = ", ".join(others) or "nothing"
        raise UserError(f"data folder {folder} has no train file (expected train.jsonl, train.json, "
                        f"train.csv or train.parquet; it holds: {present})")
    return {split: found[split][0] for split in SPLIT_FILE_STEMS if split in found}


def read_records(path: Path, args: DataArgs, id_prefix: str) -> list[Record]:
    """All rows of one file as records; any bad row is an error naming the file, row and column."""
    origin = f"data file {path}"
    table = read_table(path)
    if not table.numbers:
        raise UserError(f"{origin} has no rows")
    names = list(table.columns)
    source, summary = detect_columns(names, origin, args.source_column, args.summary_column)
    ids = table.columns.get(ID_COLUMN) if ID_COLUMN not in (source, summary) else None
    records = []
    seen: dict[str, int] = {}
    for i, number in enumerate(table.numbers):
        where = f"{origin}: {table.unit} {number}"
        text = _text(table.columns[source][i], where, source)
        target = _text(table.columns[summary][i], where, summary)
        if ids is None:
            rid = f"{id_prefix}-{number}"
        else:
            rid = _text(ids[i], where, ID_COLUMN, allow_scalars=True)
            if rid in seen:
                raise UserError(f"{origin}: id '{rid}' appears in {table.unit}s {seen[rid]} and {number}; "
                                f"ids must be unique")
            seen[rid] = number
        records.append(Record(rid, text, target))
    return records


def read_table(path: Path) -> Table:
    """Parse one file by its extension; unreadable or malformed files are errors naming the file."""
    _check_extension(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"could not read data file {path}: {e.strerror or one_line(e)}") from e
    if not data.strip():
        raise UserError(f"data file {path} is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path, data)
    text = _decode(data, path)
    if suffix == ".csv":
        return _read_csv(path, text)
    return _read_json(path, text)


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in EXTENSIONS:
        what = f"extension '{path.suffix}'" if path.suffix else "no extension"
        raise UserError(f"data file {path} has unsupported {what} (use .jsonl, .json, .csv or .parquet)")


def _decode(data: bytes, path: Path) -> str:
    # Decoded here rather than by pandas/json so the error can say where the bad byte is.
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0  # Excel writes a BOM
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = e.start + skip
        line = data.count(b"\n", 0, at) + 1
        raise UserError(f"data file {path} is not UTF-8 text: invalid byte 0x{data[at]:02x} at byte offset {at} "
                        f"(line {line}); re-save it as UTF-8") from None


def _read_json(path: Path, text: str) -> Table:
    # The standard json module rather than pandas.read_json: its errors give the
    # line and column of a syntax error, pandas' do not. A document starting
    # with '[' is a list of objects; anything else is read as JSON lines.
    rows: list[Any] = []
    numbers: list[int] = []
    if text.lstrip().startswith("["):
        unit = "row"
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"data file {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
        numbers = list(range(1, len(rows) + 1))
    else:
        unit = "line"
        # Split on "\n" only: str.splitlines() would also split on U+2028, which
        # JSON allows unescaped inside strings.
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise UserError(f"data file {path}: line {number} is not valid JSON ({e.msg} at column {e.colno})") from None
            numbers.append(number)
    columns: dict[str, list[Any]] = {}
    for i, (row, number) in enumerate(zip(rows, numbers)):
        if not isinstance(row, dict):
            raise UserError(f"data file {path}: {unit} {number} is a JSON {_json_type(row)}, not an object "
                            f"with source and summary fields")
        for key in row:
            columns.setdefault(str(key), [None] * i)
        for key, values in columns.items():
            values.append(row.get(key))
    return Table(columns, numbers, unit)


def _read_csv(path: Path, text: str) -> Table:
    import pandas as pd

    try:
        with warnings.catch_warnings():
            # pandas only warns when a row has more fields than the header and drops the extra.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # dtype=str and no NA parsing: a summary that reads "NA" or "null" is text. index_col=False:
            # otherwise a row with one extra field silently turns the first column into the index.
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserWarning:
        raise UserError(f"data file {path} is not a readable CSV file: a row has more fields than the header") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise UserError(f"data file {path} is not a readable CSV file: {one_line(e)}") from None
    return _from_frame(frame)


def _read_parquet(path: Path, data: bytes) -> Table:
    import pandas as pd
    import pyarrow as pa

    try:
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except (pa.ArrowException, OSError, ValueError) as e:
        raise UserError(f"data file {path} is not a readable Parquet file: {one_line(e)}") from None
    return _from_frame(frame)


def _from_frame(frame: Any) -> Table:
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return Table(columns, list(range(1, len(frame) + 1)), "row")


def _text(value: Any, where: str, column: str, allow_scalars: bool = False) -> str:
    """``value`` as non-blank text, or an error naming the row and column."""
    if _is_missing(value):
        raise UserError(f"{where} has no value in column '{column}'")
    if not isinstance(value, str):
        if allow_scalars and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise UserError(f"{where}, column '{column}' holds {_describe(value)}, not text")
    if not value.strip():
        raise UserError(f"{where}, column '{column}' is empty")
    return value


def _is_missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False
    return value is pd.NA or value is pd.NaT


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":  # parquet lists arrive as ndarrays
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a value of type {type(value).__name__}"


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _check_unique_ids(corpus: dict[str, list[Record]], files: dict[str, Path]) -> None:
    # Ids pair up a sample's results across models; a shared id would merge two samples.
    owner: dict[str, str] = {}
    for split, records in corpus.items():
        for r in records:
            if r.id in owner and owner[r.id] != split:
                raise UserError(f"id '{r.id}' appears in both {files[owner[r.id]]} and {files[split]}; "
                                f"ids must be unique across split files")
            owner[r.id] = split
