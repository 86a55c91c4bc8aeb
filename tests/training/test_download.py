"""Downloading through loopback HTTP mirrors: checksums, cache, corrupt files, mirror fallback."""

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.mirror import closed_port_url, serve_folder
from training.download import DownloadError, fetch_verified
from training.mnist import MNIST_SHA256, MnistSource, MnistUnavailableError, load_mnist

CONTENT = b"\x00\x00\x08\x01\x00\x00\x00\x03abc"
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def good_dir(tmp_path):
    folder = tmp_path / "good"
    folder.mkdir()
    (folder / "f.gz").write_bytes(gzip.compress(CONTENT))
    return folder


@pytest.fixture
def corrupt_dir(tmp_path):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    (folder / "f.gz").write_bytes(gzip.compress(CONTENT + b"tampered"))
    return folder


def test_downloads_and_verifies_a_good_file(tmp_path, good_dir):
    with serve_folder(good_dir) as (url, requests):
        path = fetch_verified("f.gz", tmp_path / "cache", (url,), SHA)
    assert gzip.decompress(path.read_bytes()) == CONTENT
    assert requests["f.gz"] == 1


def test_good_cached_file_is_never_downloaded_again(tmp_path, good_dir):
    cache = tmp_path / "cache"
    with serve_folder(good_dir) as (url, requests):
        fetch_verified("f.gz", cache, (url,), SHA)
        fetch_verified("f.gz", cache, (url,), SHA)
    assert requests["f.gz"] == 1


def test_corrupt_cached_file_is_downloaded_again(tmp_path, good_dir):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "f.gz").write_bytes(b"broken")
    with serve_folder(good_dir) as (url, requests):
        path = fetch_verified("f.gz", cache, (url,), SHA)
    assert requests["f.gz"] == 1
    assert gzip.decompress(path.read_bytes()) == CONTENT


def test_falls_back_past_corrupt_and_missing_and_dead_mirrors(tmp_path, good_dir, corrupt_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with serve_folder(corrupt_dir) as (bad_url, bad_requests), \
            serve_folder(empty) as (missing_url, _), serve_folder(good_dir) as (good_url, good_requests):
        mirrors = (closed_port_url(), bad_url, missing_url, good_url)
        path = fetch_verified("f.gz", tmp_path / "cache", mirrors, SHA)
    assert bad_requests["f.gz"] == 1 and good_requests["f.gz"] == 1
    assert gzip.decompress(path.read_bytes()) == CONTENT
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["f.gz"]  # no temp files left


def test_every_mirror_failing_names_each_failure_and_the_hint(tmp_path, corrupt_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    dead = closed_port_url()
    with serve_folder(corrupt_dir) as (bad_url, _), serve_folder(empty) as (missing_url, _), \
            pytest.raises(DownloadError) as info:
        fetch_verified("f.gz", tmp_path / "cache", (dead, bad_url, missing_url), SHA, hint="use X")
    message = str(info.value)
    assert dead + "f.gz" in message and "checksum mismatch" in message and "404" in message
    assert message.endswith("use X")
    assert not (tmp_path / "cache" / "f.gz").exists()


def test_real_mnist_downloads_through_a_mirror_of_the_shared_folder(tmp_path, mnist_dir):
    """The shared folder's recompressed train-images file passes: content checksums are used."""
    source = MnistSource(cache_dir=tmp_path / "cache", mirrors=(closed_port_url(),))
    with serve_folder(mnist_dir) as (url, requests):
        arrays = load_mnist(MnistSource(cache_dir=source.cache_dir, mirrors=(url,)))
        assert arrays.train_images.shape == (60000, 28, 28)
        assert arrays.test_labels.shape == (10000,)
        load_mnist(MnistSource(cache_dir=source.cache_dir, mirrors=(url,)))
    assert all(requests[f"{stem}.gz"] == 1 for stem in MNIST_SHA256)


def test_local_folder_with_a_missing_file_says_which(tmp_path):
    with pytest.raises(MnistUnavailableError, match="t10k-labels"):
        load_mnist(MnistSource(local_dir=tmp_path))


def test_local_folder_accepts_uncompressed_files(tmp_path, mnist_dir, mnist):
    for stem in MNIST_SHA256:
        (tmp_path / stem).write_bytes(gzip.decompress((mnist_dir / f"{stem}.gz").read_bytes()))
    arrays = load_mnist(MnistSource(local_dir=tmp_path))
    assert (arrays.test_images == mnist.test_images).all()


def test_cli_without_network_or_local_copy_explains_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_DIR"}
    dead = closed_port_url()
    env["MNIST_MIRRORS"] = dead
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    result = subprocess.run([sys.executable, "-m", "training.train", "--preset", "smoke",
                             "--runs-dir", str(tmp_path / "runs")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert dead in result.stderr and "MNIST_DIR" in result.stderr
    assert "Traceback" not in result.stderr
