"""Skip-unchanged remembers only the documents of a run not yet in the store."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import PostItem
from crawler.pipelines import SkipUnchangedPipeline, StorePipeline, crawler_store


def _item(number: int, text: str = "Nội dung bài viết") -> PostItem:
    url = f"https://a.vn/bai/{number}.html"
    return PostItem(
        url=url, canonical_url=url, source="a", site="a.vn", kind="news", title="Tin", text=text
    )


@pytest.fixture
def crawler(tmp_path):
    crawler = get_crawler(
        settings_dict={"MM_INDEX_URI": f"sqlite:///{tmp_path / 'index.db'}", "MM_CONFIG_DIR": None}
    )
    crawler.stats.open_spider()
    yield crawler
    crawler_store(crawler).close()


def test_stored_documents_are_forgotten_and_duplicates_still_dropped(crawler):
    skip = SkipUnchangedPipeline(crawler)
    store = StorePipeline(crawler, batch_size=50)
    for number in range(999):
        store.process_item(skip.process_item(_item(number)))
    store._flush()
    assert len(skip.known) == 999
    pending = _item(5000)
    skip.process_item(pending)  # the 1000th: a sweep forgets the 999 the store has
    assert list(skip.known) and len(skip.known) == 1
    with pytest.raises(DropItem):  # another URL of a page on its way to the store
        skip.process_item(_item(5000))
    with pytest.raises(DropItem):  # a page the store has
        skip.process_item(_item(7))
    assert skip.process_item(_item(7, text="Nội dung đã sửa")) is not None
    assert crawler.stats.get_value("mm/docs/unchanged") == 2
