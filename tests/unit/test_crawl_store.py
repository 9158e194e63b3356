"""The store a crawl opens: SQLite maps none of its file (its RSS must not grow with the
index), while other users of the store keep the memory-mapped reads."""

from __future__ import annotations

from crawler.resources.store import open_configured_store
from index.sqlite import MMAP_BYTES


def _mapped(store) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        conn.execute("PRAGMA mmap_size").fetchone()[0] for conn in (store._write, store._read)
    )


def test_a_crawl_maps_none_of_the_sqlite_file(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'index.db'}"
    crawl = open_configured_store(uri, {}, for_crawl=True)
    reader = open_configured_store(uri, {})
    try:
        assert _mapped(crawl) == (0, 0)
        assert _mapped(reader) == (MMAP_BYTES, MMAP_BYTES)
    finally:
        crawl.close()
        reader.close()
