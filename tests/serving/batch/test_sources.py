"""Finding inputs: folders, globs, files, file:// URIs and Parquet datasets; clear errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from serving.batch.errors import InputError
from serving.batch.sources import locate, plan_inputs, work_batches
from tests.serving.batch.conftest import BAD_FILES, DIGITS


def test_a_folder_is_searched_recursively_in_sorted_order(image_dir: Path) -> None:
    plan = plan_inputs([str(image_dir)])
    (files,) = plan.images
    assert plan.total == DIGITS + len(BAD_FILES) and not plan.parquet
    assert list(files.names) == sorted(files.names)
    assert files.names[0] == f"{image_dir}/bad/blank.png"


def test_names_keep_the_users_spelling_of_the_input(image_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(image_dir)
    (files,) = plan_inputs(["bad/"]).images
    assert files.names[0] == "bad/blank.png"
    assert files.fs_paths[0] == f"{image_dir}/bad/blank.png"


def test_globs_match_path_components_and_double_star_spans_folders(image_dir: Path) -> None:
    assert plan_inputs([f"{image_dir}/digits/0000?.png"]).total == 10
    assert plan_inputs([f"{image_dir}/**/0001*.png"]).total == 10
    assert plan_inputs([f"{image_dir}/*/[eg]*.png"]).total == 2  # empty.png, garbage.png
    with pytest.raises(InputError, match="matches no file"):
        plan_inputs([f"{image_dir}/*.png"])  # `*` does not cross folders


def test_file_uris_are_read_through_pyarrow_filesystems(image_dir: Path) -> None:
    plan = plan_inputs([f"file://{image_dir}/bad", f"file://{image_dir}/digits/0000*.png"])
    assert plan.total == len(BAD_FILES) + 10
    assert len(plan.filesystems) == 1  # the same local filesystem, shared
    assert plan.images[0].names[0] == f"file://{image_dir}/bad/blank.png"
    location = locate(f"file://{image_dir}/digits/*.png")
    assert location.fs_path == f"{image_dir}/digits" and location.pattern == ("*.png",)


def test_a_named_file_is_an_image_whatever_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "scan.dat").write_bytes(b"x")
    assert plan_inputs([str(tmp_path / "scan.dat")]).total == 1
    with pytest.raises(InputError, match="holds no image or Parquet files"):
        plan_inputs([str(tmp_path)])  # but a folder is searched by suffix


def test_missing_inputs_are_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"{tmp_path}/nope: no such file or folder"):
        plan_inputs([str(tmp_path / "nope")])
    with pytest.raises(InputError, match="no such folder"):
        plan_inputs([str(tmp_path / "nope/*.png")])


def test_parquet_inputs_are_counted_from_their_footers_and_streamed(tmp_path: Path) -> None:
    table = pa.table({"path": [f"p{i}" for i in range(25)], "image": [b"x"] * 25})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=10)
    plan = plan_inputs([str(tmp_path)])
    assert plan.total == 25 and plan.parquet[0].columns == ("path", "image")
    sizes = [w.num_rows for w in work_batches(plan, 8)]
    assert max(sizes) <= 8 and sum(sizes) == 25


def test_a_parquet_file_without_the_image_column_says_which_flag_to_use(tmp_path: Path) -> None:
    pq.write_table(pa.table({"path": ["a"], "png": [b"x"]}), tmp_path / "x.parquet")
    with pytest.raises(InputError, match="--image-column"):
        plan_inputs([str(tmp_path / "x.parquet")])
