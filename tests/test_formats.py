"""The official corpus formats, read from the small files the tests write (nothing real is committed).

DialogSum's official files (``dialogsum.{train,dev,test}.jsonl``, three references in test), SAMSum's JSON
lists (``train/val/test.json``), CNN/DailyMail and XSum tables, the hub's parquet shards, ``save_to_disk``
folders, and the hub path itself (``--data dialogsum``) fed from a ``save_to_disk`` folder, since the hub is
unreachable here. Then the bad inputs of these formats, and ``mono-s2s data inspect``.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

from mono_s2s.cli import main
from mono_s2s.config import DataArgs
from mono_s2s.data import hub, load_corpus, read_corpus
from mono_s2s.data.formats import detect_layout
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def dialogsum_rows(split: str, n: int) -> list[dict]:
    """Rows as the official DialogSum files have them: one reference in train/dev, three (and three topics) in test."""
    rows = []
    for i in range(n):
        row = {"fname": f"{split}_{i}", "dialogue": f"#Person1#: {split} dialogue {i} about the {i} pm bus.\n"
                                                    f"#Person2#: Fine, see you then."}
        if split == "test":
            row.update({f"summary{k}": f"reference {k} of {split} {i}: they take the {i} pm bus." for k in (1, 2, 3)})
            row.update({f"topic{k}": "travel" for k in (1, 2, 3)})
        else:
            row.update({"summary": f"{split} {i}: they take the {i} pm bus.", "topic": "travel"})
        rows.append(row)
    return rows


def dialogsum_folder(root: Path, sizes=(30, 6, 5)) -> Path:
    folder = root / "DialogSum_Data"
    for split, n in zip(("train", "dev", "test"), sizes):
        jsonl(folder / f"dialogsum.{split}.jsonl", dialogsum_rows(split, n))
    return folder


def load(spec, **kwargs):
    return read_corpus(DataArgs(spec=str(spec), **kwargs))


def test_dialogsum_official_files_map_to_splits_and_keep_all_three_test_references(tmp_path):
    corpus, info = load(dialogsum_folder(tmp_path))
    assert [len(corpus[s]) for s in SPLITS] == [30, 6, 5]
    assert info.format == "DialogSum"
    assert info.sources == {"train": "dialogsum.train.jsonl", "validation": "dialogsum.dev.jsonl",
                            "test": "dialogsum.test.jsonl"}
    assert info.layouts["test"].references == ("summary1", "summary2", "summary3")
    assert info.layouts["train"].references == ("summary",) and info.layouts["train"].id == "fname"
    first = corpus["test"][0]
    assert first.id == "test_0"
    assert first.references == tuple(f"reference {k} of test 0: they take the 0 pm bus." for k in (1, 2, 3))
    assert first.summary == first.references[0]  # what training and the teacher-forced NLL use
    assert corpus["train"][3] == Record("train_3", dialogsum_rows("train", 4)[3]["dialogue"],
                                        "train 3: they take the 3 pm bus.")
    lines = "\n".join(info.lines())
    assert "format DialogSum" in lines and "validation <- dialogsum.dev.jsonl" in lines
    assert "references 'summary1', 'summary2', 'summary3'" in lines


def test_samsum_json_lists_with_val_file(tmp_path):
    folder = tmp_path / "samsum"
    folder.mkdir()
    for name, n in (("train", 20), ("val", 4), ("test", 3)):
        rows = [{"id": f"13{name}{i}", "summary": f"{name} summary {i}", "dialogue": f"Amanda: {name} {i}?\r\nJerry: ok"}
                for i in range(n)]
        (folder / f"{name}.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    corpus, info = load(folder)
    assert info.format == "SAMSum" and info.sources["validation"] == "val.json"
    assert [len(corpus[s]) for s in SPLITS] == [20, 4, 3]
    assert corpus["validation"][1] == Record("13val1", "Amanda: val 1?\r\nJerry: ok", "val summary 1")


@pytest.mark.parametrize("name,columns,writer", [
    ("CNN/DailyMail", ("article", "highlights", "id"), "csv"),
    ("CNN/DailyMail", ("article", "highlights", "id"), "jsonl"),
    ("XSum", ("document", "summary", "id"), "jsonl"),
    ("XSum", ("document", "summary", "id"), "csv"),
])
def test_news_corpora_columns(tmp_path, name, columns, writer):
    source, summary, ident = columns
    folder = tmp_path / "news"
    folder.mkdir()
    for split, n in (("train", 12), ("validation", 3), ("test", 3)):
        rows = [{ident: f"{split}-{i:04x}", source: f"(CNN) -- {split} article {i}, with commas, \"quotes\".",
                 summary: f"{split} highlight {i}.\nSecond line."} for i in range(n)]
        if writer == "csv":
            pd.DataFrame(rows).to_csv(folder / f"{split}.csv", index=False)
        else:
            jsonl(folder / f"{split}.jsonl", rows)
    corpus, info = load(folder)
    assert info.format == name
    layout = info.layouts["test"]
    assert (layout.source, layout.references, layout.id) == (source, (summary,), ident)
    assert corpus["test"][2] == Record("test-0002", "(CNN) -- test article 2, with commas, \"quotes\".",
                                       "test highlight 2.\nSecond line.")


def test_hub_parquet_shards_in_a_data_subfolder_are_read_in_order(tmp_path):
    folder = tmp_path / "repo"
    rows = [{"id": f"r{i}", "dialogue": f"d {i}", "summary": f"s {i}"} for i in range(30)]
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("dataset card")
    pd.DataFrame(rows[:12]).to_parquet(folder / "data" / "train-00000-of-00002.parquet")
    pd.DataFrame(rows[12:22]).to_parquet(folder / "data" / "train-00001-of-00002.parquet")
    pd.DataFrame(rows[22:26]).to_parquet(folder / "data" / "validation-00000-of-00001.parquet")
    pd.DataFrame(rows[26:]).to_parquet(folder / "data" / "test-00000-of-00001.parquet")
    corpus, info = load(folder)
    assert [r.id for r in corpus["train"]] == [f"r{i}" for i in range(22)]
    assert info.sources["train"] == "data/train-00000-of-00002.parquet, data/train-00001-of-00002.parquet"
    assert [r.id for r in corpus["test"]] == ["r26", "r27", "r28", "r29"]


def test_jsonl_shards_without_ids_get_distinct_ids_despite_blank_lines(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    row = {"dialogue": "d", "summary": "s"}
    # Shard 0: two rows on lines 1 and 3; its row count (2) is below its last line number (3).
    (folder / "train-00000-of-00002.jsonl").write_text(json.dumps(row) + "\n\n" + json.dumps(row) + "\n")
    jsonl(folder / "train-00001-of-00002.jsonl", [row, row])
    corpus, _ = load(folder, validation_fraction=0.2, test_fraction=0.2)
    ids = [r.id for s in SPLITS for r in corpus[s]]
    assert sorted(ids) == ["shards-train-1", "shards-train-3", "shards-train-4", "shards-train-5"]


def _saved(folder: Path, splits: dict[str, int], multi_test: bool = True) -> Path:
    parts = {}
    for split, n in splits.items():
        data = {"id": [f"{split}_{i}" for i in range(n)], "dialogue": [f"{split} dialogue {i}" for i in range(n)]}
        if split == "test" and multi_test:
            data.update({f"summary{k}": [f"ref {k} of {i}" for i in range(n)] for k in (1, 2, 3)})
        else:
            data["summary"] = [f"{split} summary {i}" for i in range(n)]
        parts[split] = datasets.Dataset.from_dict(data)
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return folder


def test_save_to_disk_folder_is_read_with_its_splits_and_references(tmp_path):
    corpus, info = load(_saved(tmp_path / "saved", {"train": 20, "validation": 4, "test": 3}))
    assert [len(corpus[s]) for s in SPLITS] == [20, 4, 3]
    assert corpus["test"][1].references == ("ref 1 of 1", "ref 2 of 1", "ref 3 of 1")
    assert corpus["train"][0] == Record("train_0", "train dialogue 0", "train summary 0")
    assert info.sources["validation"] == "split 'validation'"


def test_hub_path_goes_through_the_same_normalisation(tmp_path, monkeypatch):
    # The hub is unreachable here: the short name's load_dataset is fed a save_to_disk folder the test wrote,
    # whose test split has DialogSum's three references and which has no validation split (carved).
    folder = _saved(tmp_path / "hubcopy", {"train": 40, "test": 3})
    calls = []

    def fake_load_dataset(repo, config=None, **kwargs):
        calls.append(repo)
        return datasets.load_from_disk(str(folder))

    monkeypatch.setattr(hub, "load_dataset", fake_load_dataset)
    corpus, info = load("dialogsum")
    assert calls == ["knkarthick/dialogsum"]
    assert [len(corpus[s]) for s in SPLITS] == [36, 4, 3]
    assert corpus["test"][2].id == "dialogsum-test-2"
    assert corpus["test"][2].references == ("ref 1 of 2", "ref 2 of 2", "ref 3 of 2")
    assert info.sources["validation"].startswith("carved from train")
    assert info.layouts["test"].references == ("summary1", "summary2", "summary3")


def test_summary_max_words_cuts_every_reference(tmp_path):
    folder = tmp_path / "d"
    jsonl(folder / "train.jsonl", [{"dialogue": f"d {i}", "summary": "one two three four"} for i in range(20)])
    jsonl(folder / "test.jsonl", [{"dialogue": "d", "summary1": "a b c d", "summary2": "e f g h"}])
    corpus = load_corpus(DataArgs(spec=str(folder), summary_max_words=2))
    assert corpus["test"][0].references == ("a b", "e f")
    assert corpus["train"][0].summary == "one two"


def test_format_names_come_from_the_columns():
    assert detect_layout(["id", "dialogue", "summary", "topic"], "t").format == "DialogSum"  # the hub's copy
    assert detect_layout(["id", "dialogue", "summary"], "t").format == "SAMSum"
    assert detect_layout(["text", "target"], "t").format == "generic"


def test_numbered_references_follow_the_number_not_the_column_order():
    layout = detect_layout(["summary3", "dialogue", "summary1", "summary2"], "t")
    assert layout.references == ("summary1", "summary2", "summary3")
    assert detect_layout(["text", "target_1", "target_2"], "t").references == ("target_1", "target_2")


def _bad(tmp_path: Path, files: dict[str, list[dict] | str]) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, rows in files.items():
        if isinstance(rows, str):
            (folder / name).write_text(rows, encoding="utf-8")
        elif name.endswith(".csv"):
            pd.DataFrame(rows).to_csv(folder / name, index=False)
        else:
            jsonl(folder / name, rows)
    return folder


TRAIN = [{"id": f"t{i}", "dialogue": f"d {i}", "summary": f"s {i}"} for i in range(20)]

BAD = [
    ("reference-gap", {"train.jsonl": TRAIN, "test.jsonl": [{"id": "x", "dialogue": "d", "summary1": "a",
                                                              "summary3": "c"}]},
     ["test.jsonl", "'summary1', 'summary3'", "no 'summary2'"]),
    ("references-not-from-1", {"train.jsonl": TRAIN, "test.jsonl": [{"id": "x", "dialogue": "d", "summary2": "a"}]},
     ["test.jsonl", "no 'summary1'"]),
    ("mixed-formats", {"train.jsonl": TRAIN, "val.csv": TRAIN[:3], "test.jsonl": TRAIN[:3]},
     ["mixes formats", "train.jsonl", "val.csv"]),
    ("two-different-train-files", {"train.jsonl": TRAIN, "dialogsum.train.jsonl": TRAIN},
     ["more than one train file", "dialogsum.train.jsonl", "train.jsonl"]),
    ("id-in-two-splits", {"train.jsonl": TRAIN, "test.jsonl": [TRAIN[4]]},
     ["id 't4' appears in both", "train.jsonl", "test.jsonl"]),
    ("blank-second-reference", {"train.jsonl": TRAIN,
                                "test.jsonl": [{"id": "x", "dialogue": "d", "summary1": "a", "summary2": " "}]},
     ["test.jsonl", "line 1", "'summary2'", "empty"]),
]


@pytest.mark.parametrize("files,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_corpus_files_are_one_line_errors_naming_file_and_field(tmp_path, files, expected):
    folder = _bad(tmp_path, files)
    with pytest.raises(UserError) as info:
        load(folder)
    message = str(info.value)
    assert "\n" not in message and str(folder) in message
    for part in expected:
        assert part in message, (part, message)


def test_data_inspect_prints_format_sizes_lengths_and_examples(tmp_path, capsys):
    folder = dialogsum_folder(tmp_path, sizes=(60, 6, 5))
    code = main(["data", "inspect", "--data", str(folder), "--set", "data.max_summary_tokens=12",
                 "--out", str(tmp_path / "no_run")])
    out = capsys.readouterr().out
    assert code == 0
    assert "format DialogSum" in out and "test       <- dialogsum.test.jsonl" in out
    assert "sizes train 60, validation 6, test 5 (3 references each)" in out
    table = [line.split() for line in out.splitlines() if line.strip().startswith("test ")]
    sources, references = table
    assert sources[1:3] == ["sources", "5"] and references[1:3] == ["references", "15"]  # every reference counted
    assert sources[-2:] == ["256", "0.0%"]
    assert references[-2] == "12" and references[-1] != "0.0%"  # the references are longer than 12 tokens
    assert "[test_0]" in out and "[test_1]" in out and "[test_2]" not in out
    assert "reference 3: reference 3 of test 1: they take the 1 pm bus." in out
    assert not (tmp_path / "no_run").exists()  # it writes nothing


def test_data_inspect_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    folder = _bad(tmp_path, BAD[0][1])
    code = main(["data", "inspect", "--data", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no 'summary2'" in err
