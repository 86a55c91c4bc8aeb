"""`digits pack`: image files into Parquet shards that `digits batch` reads like the files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from serving.batch import pack
from serving.batch.config import PredictorConfig
from serving.batch.errors import InputError
from serving.batch.pack import PackConfig, pack_images
from serving.batch.predictor import BatchPredictor
from serving.batch.sources import plan_inputs, work_batches
from tests.serving.batch.conftest import BAD_FILES, DIGITS, sorted_rows


def test_shards_hold_every_file_byte_for_byte_under_its_batch_path(shards: Path,
                                                                   image_dir: Path) -> None:
    files = sorted(p.name for p in shards.iterdir())
    assert files == [f"part-{i:05d}.parquet" for i in range(3)]  # 2005 rows, 700 per file
    table = pq.read_table(shards)
    assert table.num_rows == DIGITS + len(BAD_FILES)
    (listed,) = plan_inputs([str(image_dir)]).images
    assert table["path"].to_pylist() == list(listed.names)
    assert table["error"].null_count == table.num_rows
    first = table.slice(0, 1).to_pylist()[0]
    assert first["image"] == Path(first["path"]).read_bytes()


def test_packed_rows_classify_exactly_as_the_files(shards: Path, reference: pa.Table,
                                                   predictor_config: PredictorConfig) -> None:
    plan = plan_inputs([f"file://{shards}"])
    assert plan.total == reference.num_rows and not plan.images
    predictor = BatchPredictor.load(predictor_config, plan.filesystems)
    rows = pa.concat_tables([predictor(w) for w in work_batches(plan, 256)
                             if w["path"][0].as_py().endswith(("5.png", "blank.png"))])
    assert rows.num_rows > 0
    expected = reference.filter(pc.is_in(reference["path"], rows["path"]))
    assert sorted_rows(rows).equals(expected)


def test_an_unreadable_file_is_packed_as_an_error_row(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"x")
    (tmp_path / "in" / "b.png").write_bytes(b"y")

    def read_file(filesystem: pafs.FileSystem, path: str) -> bytes:
        if path.endswith("b.png"):  # as root, no permission makes a file unreadable
            raise PermissionError(f"[Errno 13] Permission denied: {path!r}")
        return real_read_file(filesystem, path)

    real_read_file = pack.read_file
    monkeypatch.setattr(pack, "read_file", read_file)
    summary = pack_images([f"{tmp_path}/in/*.png"], str(tmp_path / "out"), PackConfig())
    table = pq.read_table(tmp_path / "out")
    assert summary.images == 2 and summary.unreadable == 1
    assert table["image"].to_pylist()[1] is None
    assert "cannot read the file" in table["error"].to_pylist()[1]


def test_pack_refuses_a_folder_that_already_holds_shards(shards: Path, image_dir: Path) -> None:
    with pytest.raises(InputError, match="already holds Parquet files"):
        pack_images([str(image_dir / "bad")], str(shards))
