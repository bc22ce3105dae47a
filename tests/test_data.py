"""Corpus loading: local files, split carving and caps, the hub (offline), the synthetic cache.

Hub tests never touch the network: ``mono_s2s.data.hub.load_dataset`` is
replaced by a function returning in-memory ``datasets.DatasetDict`` objects,
except in one test that runs the real ``datasets.load_dataset`` in offline mode
in a subprocess (with a timeout, so it cannot hang).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import datasets
import pandas as pd
import pytest

import mono_s2s.data
from mono_s2s.config import DataArgs
from mono_s2s.data import hub, load_corpus
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]

# Text that trips naive readers: commas and quotes (CSV), a newline inside a
# value, non-ASCII, and U+2028 (a line break for str.splitlines, not for JSON).
TRICKY = 'She said, "fine"\nthen left — café\u2028done'


def make_rows(n: int, source: str = "dialogue", summary: str = "summary", ids: bool = True) -> list[dict]:
    rows = []
    for i in range(n):
        row = {source: f"#Person1#: message {i}. {TRICKY if i == 0 else ''}", summary: f"summary of {i}"}
        if ids:
            row = {"id": f"row{i}", **row}
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict], fmt: str | None = None) -> Path:
    """Write ``rows`` in the format of ``path``'s extension (``fmt='json-lines'`` for JSON lines in a .json)."""
    fmt = fmt or path.suffix.lstrip(".")
    if fmt in ("jsonl", "json-lines"):
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    elif fmt == "csv":
        pd.DataFrame(rows).to_csv(path, index=False)
    elif fmt == "parquet":
        pd.DataFrame(rows).to_parquet(path, engine="pyarrow")
    else:
        raise AssertionError(fmt)
    return path


def load(spec: Path | str, **kwargs) -> dict[str, list[Record]]:
    return load_corpus(DataArgs(spec=str(spec), **kwargs))


def all_records(corpus: dict[str, list[Record]]) -> list[Record]:
    return [r for s in SPLITS for r in corpus[s]]


def user_error(spec: Path | str, **kwargs) -> str:
    """The message of the UserError that loading ``spec`` raises; checks it is one line."""
    with pytest.raises(UserError) as info:
        load(spec, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.strip() == message and message
    return message


# ---------------------------------------------------------------------------
# Local files
# ---------------------------------------------------------------------------

FORMATS = [("data.jsonl", None), ("data.json", None), ("data.json", "json-lines"), ("data.csv", None),
           ("data.parquet", None)]


@pytest.mark.parametrize("name,fmt", FORMATS, ids=["jsonl", "json-list", "json-lines", "csv", "parquet"])
def test_local_file_round_trips(tmp_path, name, fmt):
    rows = make_rows(30)
    path = write(tmp_path / name, rows, fmt)
    corpus = load(path)
    assert list(corpus) == list(SPLITS)
    assert [len(corpus[s]) for s in SPLITS] == [24, 3, 3]  # 10% + 10% carved from 30 rows
    expected = {r["id"]: (r["dialogue"], r["summary"]) for r in rows}
    got = {r.id: (r.source, r.summary) for r in all_records(corpus)}
    assert got == expected  # every row once, text byte-identical (TRICKY included)
    assert all(isinstance(r, Record) for r in all_records(corpus))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_ids_without_id_column_name_the_file_and_row(tmp_path, suffix):
    rows = make_rows(10, ids=False)
    corpus = load(write(tmp_path / f"chats{suffix}", rows))
    by_id = {r.id: r for r in all_records(corpus)}
    assert set(by_id) == {f"chats-{n}" for n in range(1, 11)}  # rows (and JSON lines) counted from 1
    assert by_id["chats-4"].summary == "summary of 3"


def test_folder_of_split_files_keeps_each_file_as_its_split(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    train, val, test = make_rows(12), make_rows(4, ids=False), make_rows(3, ids=False)
    write(folder / "train.csv", train)
    write(folder / "val.csv", val)
    write(folder / "test.csv", test)
    (folder / "README.md").write_text("not data")
    corpus = load(folder)
    assert [r.summary for r in corpus["train"]] == [r["summary"] for r in train]
    assert [r.summary for r in corpus["validation"]] == [r["summary"] for r in val]
    assert [r.id for r in corpus["validation"]] == [f"corpus-validation-{n}" for n in range(1, 5)]
    assert [r.id for r in corpus["test"]] == [f"corpus-test-{n}" for n in range(1, 4)]


def test_missing_split_is_carved_from_train_deterministically_without_overlap(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    train = make_rows(50)
    write(folder / "train.csv", train)
    write(folder / "dev.csv", make_rows(5, ids=False))  # "dev" is a validation alias; test is missing
    first = load(folder, test_fraction=0.2)
    again = load(folder, test_fraction=0.2)
    other_seed = load(folder, test_fraction=0.2, seed=1)
    assert first == again
    assert len(first["test"]) == 10 and len(first["train"]) == 40 and len(first["validation"]) == 5
    train_ids, test_ids = {r.id for r in first["train"]}, {r.id for r in first["test"]}
    assert not train_ids & test_ids
    assert train_ids | test_ids == {r["id"] for r in train}
    assert {r.id for r in other_seed["test"]} != test_ids  # the carve follows the seed
    # Not the first or last rows of the file: a shuffle, not a slice.
    assert test_ids != {f"row{i}" for i in range(10)} and test_ids != {f"row{i}" for i in range(40, 50)}


def test_caps_are_deterministic_subsets(tmp_path):
    path = write(tmp_path / "d.jsonl", make_rows(100))
    full = load(path)
    capped = load(path, max_train_samples=7, max_eval_samples=2)
    assert [len(capped[s]) for s in SPLITS] == [7, 2, 2]
    for s in SPLITS:
        assert set(capped[s]) <= set(full[s])  # caps choose within a split, after carving
    assert capped == load(path, max_train_samples=7, max_eval_samples=2)
    assert capped["train"] != load(path, max_train_samples=7, max_eval_samples=2, seed=5)["train"]


def test_summary_max_words_applies_to_local_files(tmp_path):
    rows = [{"dialogue": f"d{i}", "summary": " ".join(f"w{j}" for j in range(i + 1))} for i in range(20)]
    corpus = load(write(tmp_path / "d.jsonl", rows), summary_max_words=5)
    summaries = [r.summary for r in all_records(corpus)]
    assert max(len(s.split()) for s in summaries) == 5
    assert "w0 w1 w2 w3 w4" in summaries and "w0 w1 w2" in summaries  # long cut, short kept


@pytest.mark.parametrize("source,summary", [
    ("document", "summary"), ("article", "highlights"), ("text", "target"), ("source", "abstract"),
    ("Dialogue", "Summary"),  # exported spreadsheets capitalise headers
])
def test_columns_are_auto_detected(tmp_path, source, summary):
    rows = [{"other": "x", source: f"src {i}", summary: f"sum {i}"} for i in range(10)]
    corpus = load(write(tmp_path / "d.csv", rows))
    assert sorted(r.source for r in all_records(corpus)) == sorted(f"src {i}" for i in range(10))
    assert sorted(r.summary for r in all_records(corpus)) == sorted(f"sum {i}" for i in range(10))


def test_auto_detection_prefers_earlier_candidates(tmp_path):
    rows = [{"text": f"text {i}", "dialogue": f"dialogue {i}", "target": f"t {i}", "summary": f"s {i}"}
            for i in range(10)]
    records = all_records(load(write(tmp_path / "d.jsonl", rows)))
    assert all(r.source.startswith("dialogue") and r.summary.startswith("s ") for r in records)


def test_explicit_columns_override_auto_detection(tmp_path):
    rows = [{"dialogue": f"d {i}", "utterance": f"u {i}", "summary": f"s {i}", "gist": f"g {i}"} for i in range(10)]
    records = all_records(load(write(tmp_path / "d.parquet", rows), source_column="utterance", summary_column="gist"))
    assert sorted(r.source for r in records) == sorted(f"u {i}" for i in range(10))
    assert sorted(r.summary for r in records) == sorted(f"g {i}" for i in range(10))


def _bad(name: str, content: str | bytes | None = None):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content, encoding="utf-8")
        return path
    return make


def _parquet(rows):
    def make(tmp_path: Path) -> Path:
        return write(tmp_path / "bad.parquet", rows)
    return make


def _folder(*files: str):
    def make(tmp_path: Path) -> Path:
        folder = tmp_path / "corpus"
        folder.mkdir()
        for name in files:
            write(folder / name, make_rows(5), "jsonl" if name.endswith(".txt") else None)
        return folder
    return make


GOOD = "dialogue,summary\nhello,hi\n"

# (id, make the bad input, DataArgs overrides, substrings the message must hold besides the file name)
BAD_DATA = [
    ("missing-file", _bad("nope.jsonl"), {}, ["not found"]),
    ("missing-folder", _bad("no_such_dir"), {}, ["not found"]),
    ("unsupported-extension", _bad("bad.txt", GOOD), {}, ["unsupported extension '.txt'", ".jsonl"]),
    ("empty-file", _bad("bad.csv", ""), {}, ["is empty"]),
    ("corrupt-json", _bad("bad.json", '[{"dialogue": "a", "summary": "b"},'), {}, ["not valid JSON", "line 1"]),
    ("corrupt-json-line", _bad("bad.jsonl", '{"dialogue": "a", "summary": "b"}\n{"dialogue": "a",\n'), {},
     ["line 2", "not valid JSON"]),
    ("corrupt-parquet", _bad("bad.parquet", b"PAR1 this is not parquet"), {}, ["not a readable Parquet file"]),
    ("ragged-csv", _bad("bad.csv", "dialogue,summary\na,b\nc,d,e\n"), {}, ["not a readable CSV file"]),
    ("extra-field-csv", _bad("bad.csv", "dialogue,summary\na,b,c\n"), {}, ["more fields than the header"]),
    ("non-utf8", _bad("bad.csv", b"dialogue,summary\nhello,caf\xe9\n"), {},
     ["not UTF-8", "0xe9", "byte offset 26", "line 2"]),
    ("no-source-column", _bad("bad.csv", "foo,summary\na,b\n"), {},
     ["no source column", "'foo'", "'summary'", "--set data.source_column="]),
    ("no-summary-column", _bad("bad.jsonl", '{"dialogue": "a", "gist": "b"}\n'), {},
     ["no summary column", "'dialogue'", "'gist'", "--set data.summary_column="]),
    ("explicit-column-missing", _bad("bad.csv", GOOD), {"source_column": "utterance"},
     ["no column 'utterance'", "'dialogue'", "data.source_column"]),
    ("empty-source", _bad("bad.csv", "dialogue,summary\na,b\n,c\n"), {}, ["row 2", "'dialogue'", "empty"]),
    ("blank-summary", _bad("bad.jsonl", '{"dialogue": "a", "summary": "b"}\n\n{"dialogue": "c", "summary": " \\t "}\n'),
     {}, ["line 3", "'summary'", "empty"]),
    ("missing-summary-field", _bad("bad.json", '[{"dialogue": "a", "summary": "b"}, {"dialogue": "c"}]'), {},
     ["row 2", "'summary'", "no value"]),
    ("null-in-parquet", _parquet([{"dialogue": "a", "summary": "b"}, {"dialogue": None, "summary": "c"}]), {},
     ["row 2", "'dialogue'", "no value"]),
    ("non-text-value", _bad("bad.jsonl", '{"dialogue": ["a", "b"], "summary": "c"}\n'), {},
     ["line 1", "'dialogue'", "a list, not text"]),
    ("row-not-object", _bad("bad.json", '[{"dialogue": "a", "summary": "b"}, 3]'), {}, ["row 2", "not an object"]),
    ("header-only", _bad("bad.csv", "dialogue,summary\n"), {}, ["no rows"]),
    ("empty-list", _bad("bad.json", "[]"), {}, ["no rows"]),
    ("duplicate-id", _bad("bad.jsonl", '{"id": 1, "dialogue": "a", "summary": "b"}\n'
                                       '{"id": 1, "dialogue": "c", "summary": "d"}\n'), {}, ["id '1'", "lines 1 and 2"]),
    ("too-few-to-carve", _bad("bad.csv", "dialogue,summary\na,b\nc,d\n"), {}, ["2 usable", "too few"]),
    ("folder-without-train", _folder("test.jsonl", "notes.txt"), {}, ["no train file", "notes.txt"]),
    ("folder-two-train-files", _folder("train.jsonl", "train.csv"), {}, ["more than one train file"]),
    ("folder-duplicate-ids", _folder("train.jsonl", "test.jsonl"), {},
     ["id 'row0' appears in both", "train.jsonl", "test.jsonl"]),
]


@pytest.mark.parametrize("make,overrides,expected", [b[1:] for b in BAD_DATA], ids=[b[0] for b in BAD_DATA])
def test_bad_local_data_is_a_one_line_user_error_naming_file_and_problem(tmp_path, make, overrides, expected):
    path = make(tmp_path)
    message = user_error(path, **overrides)
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def test_unknown_spec_hints_at_the_hub_prefix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = user_error("someone/corpus")
    assert "not found: someone/corpus" in message and "hub:someone/corpus" in message


# ---------------------------------------------------------------------------
# Hub, offline: load_dataset replaced by in-memory DatasetDicts
# ---------------------------------------------------------------------------


def hub_dataset(name: str, sizes: dict[str, int], source: str = "dialogue", summary: str = "summary",
                long_every: int = 0) -> datasets.DatasetDict:
    """Rows whose text names the dataset, split and index; every ``long_every``-th summary has 120 words."""
    splits = {}
    for split, n in sizes.items():
        summaries = []
        for i in range(n):
            words = 120 if long_every and i % long_every == 0 else 6
            summaries.append(" ".join([f"{name}/{split}/{i}"] + [f"w{j}" for j in range(1, words)]))
        splits[split] = datasets.Dataset.from_dict(
            {"id": [f"{split}_{i}" for i in range(n)], source: [f"{name} {split} source {i}" for i in range(n)],
             summary: summaries})
    return datasets.DatasetDict(splits)


@pytest.fixture
def fake_hub(monkeypatch):
    """``fake_hub(repo_or_(repo, config) -> DatasetDict)``; returns the list of (repo, config) calls."""
    calls: list[tuple[str, str | None]] = []

    def install(table: dict) -> list[tuple[str, str | None]]:
        def fake_load_dataset(path, name=None, **kwargs):
            calls.append((path, name))
            key = (path, name) if (path, name) in table else path
            if key not in table:
                raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub or cannot be accessed.")
            return table[key]

        monkeypatch.setattr(hub, "load_dataset", fake_load_dataset)
        return calls

    return install


def test_hub_short_name_uses_the_table_repo_and_columns(fake_hub):
    calls = fake_hub({"knkarthick/dialogsum": hub_dataset("ds", {"train": 20, "validation": 5, "test": 4})})
    corpus = load("dialogsum")
    assert calls == [("knkarthick/dialogsum", None)]
    assert [len(corpus[s]) for s in SPLITS] == [20, 5, 4]
    first = corpus["train"][12]
    assert first == Record("dialogsum-train-12", "ds train source 12", "ds/train/12 w1 w2 w3 w4 w5")
    assert corpus["test"][0].id == "dialogsum-test-0"


def test_hub_short_name_with_config(fake_hub):
    calls = fake_hub({("abisee/cnn_dailymail", "3.0.0"): hub_dataset(
        "cnn", {"train": 30, "validation": 3, "test": 3}, source="article", summary="highlights")})
    corpus = load("cnn_dailymail", max_train_samples=10)
    assert calls == [("abisee/cnn_dailymail", "3.0.0")]
    assert len(corpus["train"]) == 10 and corpus["train"][0].source.startswith("cnn train source")


def test_hub_spec_with_config_auto_detects_columns_and_carves(fake_hub):
    calls = fake_hub({("someone/news", "en"): hub_dataset("news", {"train": 40}, source="document", summary="target")})
    corpus = load("hub:someone/news:en", seed=3)
    assert calls == [("someone/news", "en")]
    assert [len(corpus[s]) for s in SPLITS] == [32, 4, 4]
    ids = [r.id for r in all_records(corpus)]
    assert len(set(ids)) == 40 and all(i.startswith("news-train-") for i in ids)
    for r in all_records(corpus):  # source and summary come from the same hub row
        assert r.summary.split()[0] == "news/train/" + r.id.rsplit("-", 1)[1]
        assert r.source == "news train source " + r.id.rsplit("-", 1)[1]


def test_hub_spec_honours_explicit_columns(fake_hub):
    fake_hub({"someone/x": hub_dataset("x", {"train": 10, "test": 5}, source="prompt", summary="answer")})
    assert "no source column" in user_error("hub:someone/x")
    corpus = load("hub:someone/x", source_column="prompt", summary_column="answer")
    assert corpus["test"][0] == Record("x-test-0", "x test source 0", "x/test/0 w1 w2 w3 w4 w5")


def test_hub_drops_empty_rows_with_a_one_line_warning(fake_hub, capsys):
    data = hub_dataset("sam", {"train": 12, "validation": 3, "test": 3})
    train = data["train"].to_dict()
    train["dialogue"][2] = ""
    train["dialogue"][5] = "  \n "
    train["summary"][7] = None
    data["train"] = datasets.Dataset.from_dict(train, features=data["train"].features)
    fake_hub({"knkarthick/samsum": data})
    corpus = load("samsum")
    ids = {r.id for r in corpus["train"]}
    assert ids == {f"samsum-train-{i}" for i in range(12)} - {"samsum-train-2", "samsum-train-5", "samsum-train-7"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning" in err and "samsum" in err and "dropped 3 of 12 train rows" in err


def test_hub_non_text_column_is_a_user_error(fake_hub):
    data = datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"article": ["a", "b", "c", "d"], "highlights": [["x"], ["y"], ["z"], ["w"]]})})
    fake_hub({"someone/lists": data})
    message = user_error("hub:someone/lists")
    assert "hub dataset 'someone/lists'" in message and "'highlights'" in message and "not text" in message


@pytest.mark.parametrize("cause,expected", [
    (ValueError("first line of the cause\n  Traceback-like detail\nmore"), "first line of the cause"),
    (ConnectionError("x" * 5000), "x" * 50),
    (RuntimeError(""), "RuntimeError"),
])
def test_any_load_dataset_failure_is_a_one_line_user_error(monkeypatch, cause, expected):
    def failing(*args, **kwargs):
        raise cause

    monkeypatch.setattr(hub, "load_dataset", failing)
    message = user_error("hub:someone/thing")
    assert message.startswith("could not load hub dataset 'someone/thing': ")
    assert expected in message and len(message) < 300 and "detail" not in message


SEED_MIX_HUB = {
    "knkarthick/dialogsum": hub_dataset("dialogsum", {"train": 120, "validation": 40, "test": 30}, long_every=2),
    "knkarthick/samsum": hub_dataset("samsum", {"train": 100, "validation": 20, "test": 5}, long_every=2),
    ("abisee/cnn_dailymail", "3.0.0"): hub_dataset("cnn", {"train": 50, "validation": 5, "test": 5},
                                                   source="article", summary="highlights", long_every=2),
    "ccdv/arxiv-summarization": hub_dataset("arxiv", {"train": 30, "validation": 5, "test": 5},
                                            source="article", summary="abstract", long_every=2),
    "ccdv/pubmed-summarization": hub_dataset("pubmed", {"train": 30, "validation": 5, "test": 5},
                                             source="article", summary="abstract", long_every=2),
}


def origins(records: list[Record]) -> Counter:
    return Counter(r.id.split("-")[0] for r in records)


@pytest.mark.parametrize("total,expected", [
    (100, {"dialogsum": 45, "samsum": 35, "cnn_dailymail": 10, "arxiv": 5, "pubmed": 5}),
    # 14.85/11.55/3.3/1.65/1.65: largest remainders get the 3 leftover rows, the total is exact
    (33, {"dialogsum": 15, "samsum": 11, "cnn_dailymail": 3, "arxiv": 2, "pubmed": 2}),
])
def test_seed_mix_draws_the_seed_proportions(fake_hub, total, expected):
    fake_hub(SEED_MIX_HUB)
    corpus = load("seed-mix", max_train_samples=total, n_validation=25)
    assert origins(corpus["train"]) == Counter(expected)
    assert origins(corpus["validation"]) == Counter({"dialogsum": 20, "samsum": 5})
    assert origins(corpus["test"]) == Counter({"dialogsum": 30})  # the whole DialogSum test split
    assert all("-validation-" in r.id for r in corpus["validation"])
    assert all(r.id.startswith("dialogsum-test-") for r in corpus["test"])
    for r in all_records(corpus):  # ids keep the origin row
        name, split, index = r.id.split("-")
        assert r.source.endswith(f"{split} source {index}")


def test_seed_mix_is_deterministic_in_the_seed_and_caps_eval(fake_hub):
    fake_hub(SEED_MIX_HUB)
    first = load("seed-mix", n_train=60, max_eval_samples=10)
    assert first == load("seed-mix", n_train=60, max_eval_samples=10)
    assert {r.id for r in first["train"]} != {r.id for r in load("seed-mix", n_train=60, max_eval_samples=10,
                                                                    seed=9)["train"]}
    assert len(first["train"]) == 60 and len(first["validation"]) == 10 and len(first["test"]) == 10
    assert len({r.id for r in first["train"]}) == 60  # sampled without replacement


def test_seed_mix_shortens_summaries_to_80_words(fake_hub):
    fake_hub(SEED_MIX_HUB)
    records = all_records(load("seed-mix", n_train=40, n_validation=10))
    lengths = Counter(len(r.summary.split()) for r in records)
    assert set(lengths) == {6, 80}  # 120-word summaries cut to 80, short ones untouched
    for r in records:
        index = int(r.id.rsplit("-", 1)[1])
        assert r.summary.startswith(f"{r.summary.split('/')[0]}/") and (len(r.summary.split()) == 80) == (index % 2 == 0)
    assert {len(r.summary.split()) for r in all_records(load("seed-mix", n_train=40, n_validation=10,
                                                             summary_max_words=50))} == {6, 50}


def test_news_dialogue_mix_trains_on_dialogue_and_news_and_tests_on_cnn_dailymail(fake_hub):
    fake_hub({**SEED_MIX_HUB, "EdinburghNLP/xsum": hub_dataset("xsum", {"train": 60, "validation": 10, "test": 5},
                                                               source="document", long_every=2)})
    corpus = load("news-dialogue-mix", max_train_samples=30, n_validation=9)
    assert origins(corpus["train"]) == Counter({"dialogsum": 10, "samsum": 10, "xsum": 10})
    assert origins(corpus["validation"]) == Counter({"dialogsum": 3, "samsum": 3, "xsum": 3})
    assert [r.id for r in corpus["test"]] == [f"cnn_dailymail-test-{i}" for i in range(5)]
    assert corpus["test"][0].source == "cnn test source 0"
    assert max(len(r.summary.split()) for r in all_records(corpus)) == 120  # no word limit, unlike seed-mix


def test_real_load_dataset_offline_fails_fast_with_one_line(tmp_path, monkeypatch):
    """The real ``datasets.load_dataset`` with the hub unreachable (offline mode).

    In a subprocess because ``datasets`` reads the offline switches when it is
    imported; the timeout makes a regression (network retries) fail, not hang.
    """
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: nothing to fall back on
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    code = ("import sys\n"
            "from mono_s2s.config import DataArgs\n"
            "from mono_s2s.data import load_corpus\n"
            "from mono_s2s.errors import UserError\n"
            "try:\n"
            "    load_corpus(DataArgs(spec='dialogsum'))\n"
            "except UserError as e:\n"
            "    print(e)\n"
            "    sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert done.returncode == 3, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("could not load hub dataset 'dialogsum': ") and len(lines[0]) < 300
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------
# Synthetic corpus and its cache
# ---------------------------------------------------------------------------


@pytest.fixture
def fake_synthetic(tmp_path, monkeypatch):
    """Replace mono_s2s.data.synthetic by a counting stub (the cache is what is under test)."""
    source = tmp_path / "fake_synthetic.py"
    source.write_text("# version 1\n")
    calls = []

    def generate_corpus(seed, n_train, n_validation, n_test):
        calls.append((seed, n_train, n_validation, n_test))
        sizes = dict(zip(SPLITS, (n_train, n_validation, n_test)))
        return {s: [Record(f"syn-{seed}-{s}-{i}", f"source {i}\u2028é", f"summary {s} {i}") for i in range(n)]
                for s, n in sizes.items()}

    module = types.ModuleType("mono_s2s.data.synthetic")
    module.__file__ = str(source)
    module.generate_corpus = generate_corpus
    monkeypatch.setitem(sys.modules, "mono_s2s.data.synthetic", module)
    monkeypatch.setattr(mono_s2s.data, "synthetic", module, raising=False)
    return types.SimpleNamespace(calls=calls, source=source)


def test_synthetic_is_cached_atomically_and_reread(tmp_path, fake_synthetic):
    cache = tmp_path / "cache"
    args = DataArgs(spec="synthetic", n_train=8, n_validation=3, n_test=2, seed=4)
    first = load_corpus(args, cache_dir=cache)
    assert [len(first[s]) for s in SPLITS] == [8, 3, 2]
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".jsonl"  # no temp file left behind
    assert "seed4" in files[0].name and "8" in files[0].name
    assert load_corpus(args, cache_dir=cache) == first
    assert len(fake_synthetic.calls) == 1  # the second load read the cache
    load_corpus(DataArgs(spec="synthetic", n_train=8, n_validation=3, n_test=2, seed=5), cache_dir=cache)
    assert len(fake_synthetic.calls) == 2 and len(list(cache.iterdir())) == 2  # keyed by seed
    fake_synthetic.source.write_text("# version 2\n")  # an edited generator does not reuse the old cache
    load_corpus(args, cache_dir=cache)
    assert len(fake_synthetic.calls) == 3


def test_synthetic_cache_key_covers_every_file_of_the_package(tmp_path, fake_synthetic, monkeypatch):
    # The stub's files are a copy of the real package, so the key is computed over
    # its real layout (the engine, the scenario modules), not over one file.
    package = tmp_path / "synthetic"
    shutil.copytree(REPO_ROOT / "mono_s2s" / "data" / "synthetic", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(mono_s2s.data.synthetic, "__file__", str(package / "__init__.py"))
    sources = sorted(package.rglob("*.py"))
    assert len([f for f in sources if f.parent.name == "scenarios" and f.name != "__init__.py"]) >= 3
    cache = tmp_path / "cache"
    args = DataArgs(spec="synthetic", n_train=4, n_validation=2, n_test=2)
    load_corpus(args, cache_dir=cache)
    load_corpus(args, cache_dir=cache)
    assert len(fake_synthetic.calls) == 1  # an unchanged package reuses the cache
    for calls, source in enumerate(sources, start=2):
        source.write_bytes(source.read_bytes() + b"\n# edited\n")
        load_corpus(args, cache_dir=cache)
        assert len(fake_synthetic.calls) == calls, source.relative_to(package)  # any edited module: a new key
    (package / "scenarios" / "new_theme.py").write_text("")  # so is a module added
    load_corpus(args, cache_dir=cache)
    assert len(fake_synthetic.calls) == len(sources) + 2
    assert len(list(cache.iterdir())) == len(sources) + 2


def test_synthetic_unreadable_cache_is_regenerated(tmp_path, fake_synthetic):
    cache = tmp_path / "cache"
    args = DataArgs(spec="synthetic", n_train=5, n_validation=2, n_test=2)
    first = load_corpus(args, cache_dir=cache)
    (path,) = cache.iterdir()
    path.write_text('{"split": "train", "id": "x"', encoding="utf-8")  # truncated by hand
    assert load_corpus(args, cache_dir=cache) == first and len(fake_synthetic.calls) == 2
    assert load_corpus(args, cache_dir=cache) == first and len(fake_synthetic.calls) == 2  # rewritten


def test_synthetic_caps_apply(fake_synthetic):
    corpus = load_corpus(DataArgs(spec="synthetic", n_train=20, n_validation=6, n_test=6, max_train_samples=5,
                                  max_eval_samples=4))
    assert [len(corpus[s]) for s in SPLITS] == [5, 4, 4]


def test_real_synthetic_generator_round_trips_through_the_cache(tmp_path):
    args = DataArgs(spec="synthetic", n_train=30, n_validation=5, n_test=5, seed=2)
    fresh = load_corpus(args)
    cached = load_corpus(args, cache_dir=tmp_path)
    assert cached == fresh == load_corpus(args, cache_dir=tmp_path)  # written, then read back identically
    assert [len(fresh[s]) for s in SPLITS] == [30, 5, 5]
    assert len({r.id for r in all_records(fresh)}) == 40
    assert len(list(tmp_path.iterdir())) == 1
