"""One post model: the crawler's item and the stored document share Post's fields."""

from __future__ import annotations

import dataclasses

from analysis.analyse import PostInput
from crawler.items import PostItem
from index.documents import Document, Post, post_fields


def _item() -> PostItem:
    return PostItem(
        url="https://bao.example/a?utm_source=x",
        canonical_url="https://bao.example/a",
        source="demo",
        site="bao.example",
        title="Hà Nội",
        text="Nội dung",
        published_at="2026-11-28T09:15:00+07:00",
        fetched_at="2026-11-28T10:00:00+00:00",
        outlinks=["https://bao.example/b"],
        engagement={"likes": 3},
        site_name="Báo Ví Dụ",
    )


def test_item_and_document_are_posts_with_the_same_post_fields() -> None:
    post_names = {f.name for f in dataclasses.fields(Post)}
    for stage in (PostItem, Document):
        assert issubclass(stage, Post)
        assert post_names <= {f.name for f in dataclasses.fields(stage)}
    analysis_reads = {"text", "title", "url", "published_at", "engagement"}
    assert analysis_reads <= post_names
    assert analysis_reads == {f.name for f in dataclasses.fields(PostInput)}


def test_a_document_is_built_from_an_items_post_fields() -> None:
    item = _item()
    doc = Document(**post_fields(item), id="abc")
    assert post_fields(doc) == post_fields(item)
    assert doc.title == "Hà Nội" and doc.engagement == {"likes": 3}


def test_document_dict_keeps_every_field_id_first_and_round_trips() -> None:
    doc = Document(**post_fields(_item()), id="abc", flags=["covid"], scores={"covid": 0.9})
    data = doc.to_dict()
    assert next(iter(data)) == "id"
    assert set(data) == {f.name for f in dataclasses.fields(Document)}
    assert Document.from_dict(data) == doc
    assert Document.from_dict({**data, "unknown": 1}) == doc
