"""Local corpora: one .jsonl/.json/.csv/.parquet file, a folder of split files, or a ``save_to_disk`` folder.

A single file is the train split (validation and test are carved from it by
:mod:`mono_s2s.data.splits`). A folder's files are mapped to splits by the
names the corpora use: a name whose words (split on ``.``, ``-``, ``_``)
include ``train``; ``validation``, ``valid``, ``val`` or ``dev``; or ``test``
-- so ``dialogsum.dev.jsonl`` (DialogSum), ``val.json`` (SAMSum) and the hub's
parquet shards ``train-00000-of-00002.parquet`` (also in a ``data/``
subfolder) are all found. A split may be several shards of one name; all of a
folder's split files must have one format. A folder written by
``datasets``' ``save_to_disk`` is read with ``datasets.load_from_disk``.
The columns of every table are found by :func:`mono_s2s.data.formats.detect_layout`
(DialogSum's three test references included).

Every problem with the data is a :class:`~mono_s2s.errors.UserError` naming
the file and, where there is one, the row and column: the user can fix their
file, so nothing is silently dropped. Rows are numbered from 1 (data rows, not
counting a CSV header; for JSON lines, the line number), and a file without an
``id`` (or DialogSum ``fname``) column gets ids ``<file stem>-<row>`` (single
file) or ``<folder>-<split>-<row>`` (folder), so an id points at its row.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mono_s2s.config import DataArgs
from mono_s2s.data.common import one_line
from mono_s2s.data.formats import CorpusInfo, Layout, detect_layout
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError

EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet")
# The words of a file name that put it in a split (the corpora's own names: DialogSum's "dev", SAMSum's "val").
SPLIT_WORDS = {"train": ("train",), "validation": ("validation", "valid", "val", "dev"), "test": ("test",)}
SHARD = re.compile(r"-\d+-of-\d+$")  # the hub's shard suffix: train-00000-of-00003.parquet
SAVED_DATASET_FILES = ("dataset_dict.json", "state.json")  # what datasets' save_to_disk writes


@dataclass
class Table:
    """Column-wise contents of one file; ``numbers[i]`` is how row ``i`` is named in messages."""

    columns: dict[str, list[Any]]
    numbers: list[int]
    unit: str  # "row" or "line"


def load_local(path: Path, args: DataArgs) -> tuple[dict[str, list[Record]], CorpusInfo]:
    """The splits present in the file or folder at ``path`` (no carving or caps yet), and what was read."""
    if path.is_dir():
        if any((path / name).is_file() for name in SAVED_DATASET_FILES):
            return _load_saved(path, args)
        files = split_files(path)
        name = path.resolve().name
        info = CorpusInfo(f"data folder {path}", {}, {})
        corpus = {}
        for split, parts in files.items():
            corpus[split], info.layouts[split] = read_records(parts, args, f"{name}-{split}")
            info.sources[split] = ", ".join(p.relative_to(path).as_posix() for p in parts)
        _check_unique_ids(corpus, {s: ", ".join(map(str, p)) for s, p in files.items()})
        return corpus, info
    if not path.exists():
        raise UserError(f"data file or folder not found: {path}")
    _check_extension(path)
    records, layout = read_records([path], args, path.stem)
    return {"train": records}, CorpusInfo(f"data file {path}", {"train": path.name}, {"train": layout})


def split_of(path: Path) -> str | None:
    """The split a file's name puts it in, or None."""
    words = re.split(r"[._-]", path.name.lower())
    return next((s for w in words for s, names in SPLIT_WORDS.items() if w in names), None)


def split_files(folder: Path) -> dict[str, list[Path]]:
    """``{split: [file, ...]}`` for the split files in ``folder`` (or its ``data/`` subfolder); train is required.

    Several files of one split must be shards of one name (``train-00000-of-00002.parquet``...), read in
    order; two different train files are an error, as is a folder mixing formats.
    """
    found, others = _split_candidates(folder)
    if not found and (folder / "data").is_dir():  # the hub's layout: data/train-00000-of-00001.parquet
        found, _ = _split_candidates(folder / "data")
    for split, paths in found.items():
        stems = {SHARD.sub("", p.stem) for p in paths}
        if len(paths) > 1 and (len(stems) > 1 or not all(SHARD.search(p.stem) for p in paths)):
            raise UserError(f"data folder {folder} has more than one {split} file "
                            f"({', '.join(p.name for p in paths)}); keep one")
    suffixes = {p.suffix.lower() for paths in found.values() for p in paths}
    if len(suffixes) > 1:
        listing = ", ".join(p.name for s in SPLITS for p in found.get(s, []))
        raise UserError(f"data folder {folder} mixes formats ({listing}); keep its split files in one format")
    if "train" not in found:
        present = ", ".join(others + [p.name for paths in found.values() for p in paths]) or "nothing"
        raise UserError(f"data folder {folder} has no train file (expected a .jsonl, .json, .csv or .parquet "
                        f"file named like train.jsonl or dialogsum.train.jsonl; it holds: {present})")
    return {split: found[split] for split in SPLITS if split in found}


def _split_candidates(folder: Path) -> tuple[dict[str, list[Path]], list[str]]:
    found: dict[str, list[Path]] = {}
    others = []
    for p in sorted(folder.iterdir()):
        split = split_of(p) if p.is_file() and p.suffix.lower() in EXTENSIONS else None
        if split is None:
            others.append(p.name)
        else:
            found.setdefault(split, []).append(p)
    return found, others


def read_records(paths: list[Path], args: DataArgs, id_prefix: str) -> tuple[list[Record], Layout]:
    """All rows of one file (or of its shards, in order) as records, and their columns.

    Any bad row is an error naming the file, row and column.
    """
    records: list[Record] = []
    places: list[tuple[str, str, int]] = []
    layout = None
    last = 0  # the previous shards' last row (or line) number: where a shard's generated ids continue
    for path in paths:
        table = read_table(path)
        origin = f"data file {path}"
        if not table.numbers:
            raise UserError(f"{origin} has no rows")
        this = detect_layout(list(table.columns), origin, args.source_column, args.summary_column)
        if layout is not None and this != layout:
            raise UserError(f"{origin} has other columns than {paths[0]} ({this.describe()}); "
                            f"the shards of one split must match")
        layout = this
        # Shards after the first continue the row numbering of the split, so generated ids stay unique. After
        # the last number, not the row count: blank JSON lines make a shard's line numbers outrun its rows.
        records += _records(table, layout, origin, id_prefix, offset=last)
        places += [(origin, table.unit, n) for n in table.numbers]
        last += table.numbers[-1]
    _check_unique_within(records, places)
    assert layout is not None
    return records, layout


def _records(table: Table, layout: Layout, origin: str, id_prefix: str, offset: int = 0) -> list[Record]:
    records = []
    ids = table.columns.get(layout.id) if layout.id else None
    for i, number in enumerate(table.numbers):
        where = f"{origin}: {table.unit} {number}"
        text = _text(table.columns[layout.source][i], where, layout.source)
        refs = tuple(_text(table.columns[c][i], where, c) for c in layout.references)
        if ids is None:
            rid = f"{id_prefix}-{number + offset}"
        else:
            rid = _text(ids[i], where, layout.id, allow_scalars=True)
        records.append(Record(rid, text, refs[0], references=refs))
    return records


def _check_unique_within(records: list[Record], places: list[tuple[str, str, int]]) -> None:
    """Ids unique within a split; ``places[i]`` = (file, unit, number) of ``records[i]``."""
    seen: dict[str, tuple[str, str, int]] = {}
    for r, place in zip(records, places):
        if r.id in seen:
            (file_a, unit, a), (file_b, unit_b, b) = seen[r.id], place
            where = f"{unit}s {a} and {b}" if file_a == file_b else f"{unit} {a} and {file_b}: {unit_b} {b}"
            raise UserError(f"{file_a}: id '{r.id}' appears in {where}; ids must be unique")
        seen[r.id] = place


def _load_saved(folder: Path, args: DataArgs) -> tuple[dict[str, list[Record]], CorpusInfo]:
    """A ``save_to_disk`` folder (a DatasetDict, or one Dataset as the train split)."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as e:  # noqa: BLE001 - a damaged folder is the user's to fix: one line naming it
        raise UserError(f"could not read the saved dataset folder {folder}: {one_line(e)}") from e
    splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    named = {}
    for hub_name, ds in splits.items():
        split = next((s for s, names in SPLIT_WORDS.items() if hub_name.lower() in names), None)
        if split is not None:
            if split in named:
                raise UserError(f"saved dataset folder {folder} has two {split} splits "
                                f"('{named[split][0]}' and '{hub_name}'); keep one")
            named[split] = (hub_name, ds)
    if "train" not in named:
        raise UserError(f"saved dataset folder {folder} has no train split (splits: {', '.join(splits) or 'none'})")
    info = CorpusInfo(f"saved dataset folder {folder}", {}, {})
    corpus = {}
    for split in SPLITS:
        if split not in named:
            continue
        hub_name, ds = named[split]
        origin = f"saved dataset folder {folder}, split '{hub_name}'"
        if len(ds) == 0:
            raise UserError(f"{origin} has no rows")
        layout = detect_layout(ds.column_names, origin, args.source_column, args.summary_column)
        table = Table({c: list(ds[c]) for c in {layout.source, *layout.references, *([layout.id] if layout.id else [])}},
                      list(range(1, len(ds) + 1)), "row")
        corpus[split] = _records(table, layout, origin, f"{folder.resolve().name}-{split}")
        _check_unique_within(corpus[split], [(origin, "row", n) for n in table.numbers])
        info.sources[split], info.layouts[split] = f"split '{hub_name}'", layout
    _check_unique_ids(corpus, {s: f"split '{named[s][0]}' of {folder}" for s in corpus})
    return corpus, info


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


def _check_unique_ids(corpus: dict[str, list[Record]], where: dict[str, str]) -> None:
    # Ids pair up a sample's results across models; a shared id would merge two samples.
    owner: dict[str, str] = {}
    for split, records in corpus.items():
        for r in records:
            if r.id in owner and owner[r.id] != split:
                raise UserError(f"id '{r.id}' appears in both {where[owner[r.id]]} and {where[split]}; "
                                f"ids must be unique across split files")
            owner[r.id] = split
