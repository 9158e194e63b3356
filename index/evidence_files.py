"""Where archived files live: one small interface, a local-disk implementation.

:class:`FileStore` is all the rest of the code knows: put bytes (stored under their
SHA-256, never overwritten), open them, read a byte range of a file (a record of a WARC).
:class:`LocalFileStore` keeps them under ``<data dir>/evidence/`` as
``sha256/ab/cd/<digest><suffix>``; rotating crawl WARC files sit beside it under
``<data dir>/warc/`` and are read through :meth:`FileStore.read_range` by their relative
path. An object store would be a second implementation of the same four methods.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

__all__ = ["FileStore", "LocalFileStore", "sha256_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@runtime_checkable
class FileStore(Protocol):
    def put(self, data: bytes, *, suffix: str = "") -> tuple[str, str]:
        """Store ``data`` under its SHA-256; return ``(key, sha256)``. Storing the same
        bytes twice keeps one copy; a stored file is never changed."""
        ...

    def read(self, key: str) -> bytes:
        """The whole file ``key`` (``FileNotFoundError`` if absent)."""
        ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` of ``key`` (a record span of a WARC file)."""
        ...

    def path(self, key: str) -> Path:
        """Local path of ``key`` (for streaming a download)."""
        ...


class LocalFileStore:
    """Files under ``root`` (the data directory): content-addressed captures in
    ``evidence/sha256/``, crawl WARC files wherever their writer put them below ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalFileStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """``root / key`` for a relative key that stays inside ``root`` (keys come from the
        store's own records, but a path must never walk out of the data directory)."""
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"bad file key {key!r}")
        return self.root.joinpath(*relative.parts)

    def put(self, data: bytes, *, suffix: str = "") -> tuple[str, str]:
        digest = sha256_hex(data)
        key = f"evidence/sha256/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"
        target = self.path(key)
        if target.exists():
            return key, digest
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, a crash leaves no partial one.
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o444)  # read-only: archived evidence is not edited in place
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return key, digest

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        with self.path(key).open("rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        if len(data) != length:
            raise ValueError(f"{key}: {length} bytes at {offset} asked, {len(data)} there")
        return data
