"""Downloading a file from a list of mirrors into a cache, verified by checksum, written atomically."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

# Current public MNIST mirrors, tried in order (the same list torchvision uses, plus the original).
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


class DownloadError(RuntimeError):
    """Every mirror failed; the message lists each mirror's failure and what to do instead."""


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content, after gunzip when it is gzip-compressed."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return hashlib.sha256(raw).hexdigest()


def _is_valid(path: Path, sha256: str) -> bool:
    try:
        return content_sha256(path) == sha256
    except (OSError, EOFError):  # unreadable or broken gzip stream
        return False


def _download_to(url: str, dest_dir: Path, timeout_s: float) -> Path:
    """Stream `url` into a temporary file in `dest_dir` and return its path."""
    fd, tmp = tempfile.mkstemp(dir=dest_dir, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def fetch_verified(
    filename: str,
    cache_dir: Path,
    mirrors: tuple[str, ...],
    sha256: str,
    timeout_s: float = 30.0,
    hint: str = "",
) -> Path:
    """Return `cache_dir/filename`, downloading it from the first mirror that serves a good copy.

    A cached file whose content checksum is right is never downloaded again; a corrupt one is
    replaced. `sha256` is checked on the decompressed content.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / filename
    if target.exists():
        if _is_valid(target, sha256):
            return target
        log.warning("%s is corrupt (checksum mismatch); downloading it again", target)
        target.unlink()
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        log.info("downloading %s", url)
        try:
            tmp = _download_to(url, cache_dir, timeout_s)
        except urllib.error.HTTPError as err:
            failures.append(f"  {url}: HTTP {err.code} {err.reason}")
            continue
        except (urllib.error.URLError, OSError, ValueError) as err:
            failures.append(f"  {url}: {getattr(err, 'reason', None) or err}")
            continue
        if not _is_valid(tmp, sha256):
            tmp.unlink()
            failures.append(f"  {url}: checksum mismatch (corrupt or wrong file)")
            continue
        os.replace(tmp, target)
        return target
    raise DownloadError(
        f"could not download {filename}; every mirror failed:\n" + "\n".join(failures)
        + (f"\n{hint}" if hint else "")
    )
