"""Writing rows: one Parquet file or JSON lines, under a .partial name until complete."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from serving.batch.config import OutputFormat
from serving.batch.errors import InputError
from serving.batch.output import RowWriter, json_lines
from serving.batch.rows import OUTPUT_SCHEMA, rows_table
from serving.engine import Prediction, Status

PREDICTIONS = [
    Prediction(Status.DIGIT, digit=3, confidence=0.987654321, probabilities=(0.1,) * 10,
               not_digit_probability=0.0123456789, box=(1, 2, 3, 4)),
    Prediction(Status.NOT_A_DIGIT, probabilities=(0.1,) * 10, not_digit_probability=0.97),
    Prediction(Status.BLANK),
    Prediction(Status.ERROR, error="the image is empty"),
]


def test_rows_follow_the_services_statuses_and_null_what_does_not_apply() -> None:
    rows = rows_table(["a", "b", "c", "d"], PREDICTIONS).to_pylist()
    assert [r["status"] for r in rows] == ["digit", "not_a_digit", "blank", "error"]
    assert [r["digit"] for r in rows] == [3, None, None, None]
    assert rows[0]["box"] == {"left": 1, "top": 2, "right": 3, "bottom": 4}
    assert rows[1]["confidence"] is None and rows[1]["probabilities"] is not None
    assert rows[2]["probabilities"] is None and rows[2]["error"] is None
    assert rows[3]["error"] == "the image is empty"


def test_json_lines_round_probabilities_to_six_decimals() -> None:
    lines = json_lines(rows_table(["a", "b", "c", "d"], PREDICTIONS)).splitlines()
    first = json.loads(lines[0])
    assert list(first) == OUTPUT_SCHEMA.names
    assert first["confidence"] == 0.987654 and first["not_digit_probability"] == 0.012346
    assert json.loads(lines[3])["error"] == "the image is empty"


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_the_output_appears_only_when_complete(tmp_path: Path, fmt: OutputFormat) -> None:
    target = tmp_path / "sub" / f"out.{fmt.value}"
    table = rows_table(["a", "b", "c", "d"], PREDICTIONS)
    with RowWriter(str(target), fmt, OUTPUT_SCHEMA) as writer:
        writer.write(table)
        assert not target.exists()
    if fmt is OutputFormat.PARQUET:
        assert pq.read_table(target).equals(table)
    else:
        assert len(target.read_text().splitlines()) == 4
    with pytest.raises(RuntimeError), RowWriter(str(target) + ".2", fmt, OUTPUT_SCHEMA) as writer:
        writer.write(table)
        raise RuntimeError("the job failed")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_output_to_a_file_uri_and_not_to_a_folder(tmp_path: Path) -> None:
    with RowWriter(f"file://{tmp_path}/out.jsonl", OutputFormat.JSONL, OUTPUT_SCHEMA) as writer:
        writer.write(rows_table(["a"], PREDICTIONS[:1]))
    assert (tmp_path / "out.jsonl").is_file()
    with pytest.raises(InputError, match="is a folder"):
        RowWriter(str(tmp_path), OutputFormat.PARQUET, OUTPUT_SCHEMA)


def test_the_format_follows_the_suffix() -> None:
    assert OutputFormat.for_path("x/preds.jsonl") is OutputFormat.JSONL
    assert OutputFormat.for_path("s3://b/preds.parquet") is OutputFormat.PARQUET
