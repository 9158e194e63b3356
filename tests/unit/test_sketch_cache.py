"""Recent sketches (index/sketch_cache.py): a crawl's workers draw each post's sketch, the
clusterer takes it instead of drawing it again, and checks stored texts exactly with the
shingles of the sketches it placed lately. Same clusters whichever way a sketch came."""

from __future__ import annotations

import random

import numpy as np
import pytest

from analysis.near_duplicates import Sketch, SketchParams, sketch
from crawler.processing import tasks
from index import clusters as clusters_module
from index.clusters import Clusterer, MemorySketchIndex, cluster_text, text_hash
from index.documents import Document, document_id
from index.sketch_cache import SketchCache

STORY = (
    "Một bác sĩ giấu tên ở bệnh viện tuyến tỉnh cho biết virus Covid-19 trú ngụ ở cổ họng "
    "vài ngày trước khi xuống phổi. Chỉ cần súc miệng và uống một cốc nước muối ấm pha đặc "
    "ba lần mỗi ngày là virus sẽ bị tiêu diệt hoàn toàn, người bệnh khỏi hẳn mà không cần "
    "dùng thuốc. Đây là cách rẻ tiền mà hiệu quả nhưng ít ai nói cho người dân biết."
)
_VOCABULARY = (
    "thành phố ghi nhận mưa lớn giao thông giá xăng doanh nghiệp nguồn cung thị trường cuối "
    "năm người dân tuyến phố ban tổ chức vận động viên đăng ký nhà máy sản lượng xuất khẩu "
    "nông sản học sinh trường lớp kỳ thi mùa vụ lúa gạo cảng biển hàng hóa du lịch khách sạn"
)


def _filler(words: int, seed: int) -> str:
    rng, vocabulary = random.Random(seed), _VOCABULARY.split()
    sentences = []
    for _ in range(words // 12):
        sentences.append(" ".join(rng.choice(vocabulary) for _ in range(12)).capitalize() + ".")
    return " ".join(sentences)


#: A long article that quotes the whole story: the pair is lopsided and not clear from the
#: estimate, so the stored article's text is checked exactly (containment).
ARTICLE = _filler(300, 1) + " " + STORY + " " + _filler(300, 2)


def _doc(name: str, text: str, title: str = "") -> Document:
    url = f"https://example.vn/{name}"
    return Document(
        url=url,
        canonical_url=url,
        source="test",
        site="example.vn",
        title=title,
        text=text,
        id=document_id(url),
    )


def _stored(index: MemorySketchIndex, clusterer: Clusterer, docs: list[Document]) -> list:
    for doc in docs:
        index.add_text(doc.id, cluster_text(doc))
    return clusterer.assign(docs, index)


def _drawn(size: int) -> Sketch:
    return sketch(" ".join(f"từ{n}" for n in range(size)))


def test_the_cache_drops_the_least_recently_used_past_its_bytes() -> None:
    entry = _drawn(40)
    cost = SketchCache(max_bytes=10**9)
    cost.put("x", entry)
    per_entry = cost.nbytes
    cache = SketchCache(max_bytes=3 * per_entry)
    for key in "abc":
        cache.put(key, entry)
    assert cache.get("a") is entry  # "a" is now the most recent
    cache.put("d", entry)
    assert cache.get("b") is None and len(cache) == 3
    assert {key for key in "acd" if cache.get(key) is not None} == {"a", "c", "d"}
    cache.put("a", _drawn(40))  # replacing an entry does not count it twice
    assert cache.nbytes == 3 * per_entry
    tiny = SketchCache(max_bytes=per_entry - 1)
    tiny.put("big", entry)
    assert len(tiny) == 0 and tiny.nbytes == 0


def test_a_remembered_sketch_is_placed_without_drawing_it_again(monkeypatch) -> None:
    clusterer, index = Clusterer(), MemorySketchIndex()
    doc = _doc("a", STORY, title="Muối chữa Covid")
    text = cluster_text(doc)
    assert clusterer.remember(text_hash(text), sketch(text), clusterer.settings.params)

    def no_drawing(*args, **kwargs):
        raise AssertionError("the sketch was drawn again")

    monkeypatch.setattr(clusters_module, "sketch", no_drawing)
    (assignment,) = _stored(index, clusterer, [doc])
    assert assignment.how == "new"
    assert index.entries[doc.id].size == sketch(text).size


def test_a_sketch_drawn_with_other_params_is_not_taken(monkeypatch) -> None:
    clusterer = Clusterer()
    doc = _doc("a", STORY)
    other = SketchParams(num_perm=64)
    assert not clusterer.remember(text_hash(STORY), sketch(STORY, other), other)
    assert clusterer.recent.get(text_hash(STORY)) is None
    drawn = []
    real = clusters_module.sketch
    monkeypatch.setattr(clusters_module, "sketch", lambda *args: drawn.append(args) or real(*args))
    _stored(MemorySketchIndex(), clusterer, [doc])
    assert len(drawn) == 1


def test_stored_texts_are_checked_with_their_recent_shingles(monkeypatch) -> None:
    def placed_quote(clusterer: Clusterer) -> object:
        index = MemorySketchIndex()
        _stored(index, clusterer, [_doc("article", ARTICLE)])
        (quoted,) = _stored(index, clusterer, [_doc("post", STORY)])
        return quoted

    cold_result = placed_quote(Clusterer())
    assert cold_result.how == "containment"

    warm = Clusterer()
    real = clusters_module.shingle_hashes
    hashed: list[int] = []
    monkeypatch.setattr(
        clusters_module, "shingle_hashes", lambda tokens: hashed.append(1) or real(tokens)
    )
    warm_result = placed_quote(warm)
    assert hashed == []  # the article's shingles came from its sketch
    assert (warm_result.how, warm_result.similarity) == (cold_result.how, cold_result.similarity)

    forgetful = Clusterer(recent=SketchCache(max_bytes=0))
    assert placed_quote(forgetful).similarity == cold_result.similarity
    assert len(hashed) == 1  # nothing kept: the stored text is hashed again


@pytest.mark.slow
def test_a_workers_sketch_is_the_one_the_store_would_draw(monkeypatch) -> None:
    params = Clusterer().settings.params
    context = tasks.AnalysisContext(sketch_params=params)
    title = "Muối chữa Covid"
    (outcome,) = tasks.analyse_posts(context, [tasks.PostJob(STORY, title)])
    drawn = outcome.value.drawn
    doc = _doc("a", STORY, title=title)
    assert drawn is not None and drawn.params == params
    assert drawn.text_hash == text_hash(cluster_text(doc))
    assert np.array_equal(drawn.sketch.signature, sketch(cluster_text(doc)).signature)
    (plain,) = tasks.analyse_posts(tasks.AnalysisContext(), [tasks.PostJob(STORY, title)])
    assert plain.value.drawn is None and plain.value.analysis == outcome.value.analysis


@pytest.mark.slow
def test_a_crawl_stores_posts_with_the_sketches_its_analysis_drew(tmp_path, monkeypatch) -> None:
    import asyncio

    from scrapy.utils.test import get_crawler

    from crawler.items import PostItem
    from crawler.pipelines import AnalysePipeline, StorePipeline, crawler_store

    crawler = get_crawler(
        settings_dict={"MM_INDEX_URI": f"sqlite:///{tmp_path / 'index.db'}", "MM_CONFIG_DIR": None}
    )
    crawler.stats.open_spider()
    drawn_by_store = []
    real = clusters_module.sketch
    monkeypatch.setattr(
        clusters_module, "sketch", lambda *args: drawn_by_store.append(args) or real(*args)
    )
    analyse, store = AnalysePipeline(crawler), StorePipeline(crawler, batch_size=10)
    for name, text in (("article", ARTICLE), ("post", STORY)):
        url = f"https://a.vn/{name}.html"
        item = PostItem(url=url, canonical_url=url, source="a", site="a.vn", text=text)
        store.process_item(asyncio.run(analyse.process_item(item)))
        store._flush()  # one at a time: the post is compared with the stored article
    stored = crawler_store(crawler)
    try:
        post = stored.get(document_id("https://a.vn/post.html"))
        article = stored.get(document_id("https://a.vn/article.html"))
        assert post.cluster_id == article.cluster_id
        assert drawn_by_store == []
    finally:
        stored.close()
