"""Watch alerts reach a webhook: a local HTTP receiver, retries, giving up, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.alerts import AlertDelivery, WebhookSettings, deliver_alerts
from crawler.cli import main
from index.documents import Document, document_id
from index.sqlite import SqliteStore
from index.watches import MAX_ATTEMPTS, new_watch
from tests.helpers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _doc(slug: str, text: str) -> Document:
    url = f"https://tinnong.localhost/{slug}"
    return Document(
        id=document_id(url),
        url=url,
        canonical_url=url,
        source="tinnong",
        site="tinnong.localhost",
        kind="post",
        text=text,
        fetched_at="2026-11-30T08:00:00+07:00",
    )


RUMOUR = _doc("toi-ngam-ruou", "Tỏi ngâm rượu trắng uống mỗi ngày một chén là miễn nhiễm Covid.")
OTHER = _doc("thoi-tiet", "Trời se lạnh, mọi người nhớ giữ ấm cho các bé khi đi học.")


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "index.db")
    store.watch_save(new_watch("Tỏi ngâm rượu", '"toi ngam ruou" OR "tỏi ngâm rượu"', "lan"))
    return store


def _settings(url: str, retries: int = 3) -> WebhookSettings:
    return WebhookSettings(url=url, timeout=5, retries=retries, backoff=0.01)


def test_an_alert_reaches_the_webhook_as_json(tmp_path, receiver):
    store = _store(tmp_path)
    store.upsert([RUMOUR, OTHER])
    report = deliver_alerts(store, _settings(receiver.url))
    assert (report.delivered, report.failed) == (1, 0)
    [body] = receiver.bodies
    assert body["watch"]["name"] == "Tỏi ngâm rượu"
    assert body["document"]["id"] == RUMOUR.id
    assert body["document"]["url"] == RUMOUR.url
    assert body["document"]["cluster_id"] == store.get(RUMOUR.id).cluster_id
    [alert] = store.alerts_list()
    assert alert.delivered_at and alert.attempts == 1
    assert deliver_alerts(store, _settings(receiver.url)).delivered == 0  # nothing pending
    store.close()


def test_failures_are_retried_with_backoff_then_left_for_the_next_run(tmp_path, receiver):
    store = _store(tmp_path)
    store.upsert([RUMOUR])
    receiver.statuses = [503, 502]  # two failures, then the receiver is back
    slept: list[float] = []
    report = deliver_alerts(store, _settings(receiver.url), sleep=slept.append)
    assert report.delivered == 1 and len(receiver.bodies) == 1
    assert slept == [0.01, 0.02]  # exponential backoff between the attempts
    store.upsert([_doc("toi-2", "Chia sẻ: tỏi ngâm rượu chữa Covid, uống ngay.")])
    receiver.statuses = [503] * 3
    failed = deliver_alerts(store, _settings(receiver.url), sleep=slept.append)
    assert (failed.delivered, failed.failed) == (0, 1)
    assert "HTTP 503" in failed.errors[0]
    [pending] = store.alerts_list(pending=True)
    assert pending.attempts == 1 and "503" in pending.last_error
    assert deliver_alerts(store, _settings(receiver.url), sleep=slept.append).delivered == 1
    store.close()


def test_a_refusing_receiver_is_not_retried_and_alerts_give_up(tmp_path, receiver):
    store = _store(tmp_path)
    store.upsert([RUMOUR])
    receiver.statuses = [400]
    report = deliver_alerts(store, _settings(receiver.url), sleep=lambda _: None)
    assert report.failed == 1 and receiver.statuses == []  # one request, no retry
    for _ in range(MAX_ATTEMPTS):
        receiver.statuses = [400]
        deliver_alerts(store, _settings(receiver.url), sleep=lambda _: None)
    assert store.alerts_list(pending=True) == []  # gave up
    assert store.alerts_list()[0].attempts == MAX_ATTEMPTS
    store.close()


def test_an_unreachable_webhook_is_an_error_on_the_alert(tmp_path):
    store = _store(tmp_path)
    store.upsert([RUMOUR])
    report = deliver_alerts(
        store, _settings("http://127.0.0.1:9/", retries=2), sleep=lambda _: None
    )
    assert report.failed == 1 and "ConnectError" in report.errors[0]
    store.close()


def test_crawl_delivery_runs_in_the_background_and_at_the_end(tmp_path, receiver):
    store = _store(tmp_path)
    delivery = AlertDelivery(_settings(receiver.url))
    store.upsert([RUMOUR])
    delivery.after_write(store)
    delivery.close(store)
    assert [body["document"]["id"] for body in receiver.bodies] == [RUMOUR.id]
    store.close()


def test_settings_and_the_environment(monkeypatch):
    assert WebhookSettings.from_settings({}).url == ""
    found = WebhookSettings.from_settings({"alerts": {"webhook_url": "https://hooks.example/x"}})
    assert (found.url, found.retries) == ("https://hooks.example/x", 3)
    monkeypatch.setenv("MISINFO_ALERT_WEBHOOK", "https://override.example/")
    assert WebhookSettings.from_settings({"alerts": {"webhook_url": "x"}}).url.startswith(
        "https://override"
    )
    monkeypatch.delenv("MISINFO_ALERT_WEBHOOK")
    with pytest.raises(ValueError, match="webhook_url"):
        WebhookSettings.from_settings({"alerts": {"webhook_url": "ftp://nope"}})
    with pytest.raises(ValueError, match="retries"):
        WebhookSettings.from_settings({"alerts": {"retries": 0}})


def test_cli_sends_pending_alerts(tmp_path, receiver, monkeypatch):
    data = tmp_path / "data"
    store = _store(data)
    store.upsert([RUMOUR])
    store.close()
    runner = CliRunner()
    monkeypatch.delenv("MISINFO_ALERT_WEBHOOK", raising=False)
    missing = runner.invoke(main, ["--data-dir", str(data), "alerts", "--send"])
    assert missing.exit_code == 1 and "no webhook" in missing.output
    assert "Traceback" not in missing.output
    monkeypatch.setenv("MISINFO_ALERT_WEBHOOK", receiver.url)
    sent = runner.invoke(main, ["--data-dir", str(data), "alerts", "--send", "--json"])
    assert sent.exit_code == 0, sent.output
    assert "delivered 1" in sent.stderr
    [alert] = json.loads(sent.stdout)
    assert alert["delivered_at"] and alert["payload"]["document"]["id"] == RUMOUR.id
    assert len(receiver.bodies) == 1
