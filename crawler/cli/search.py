"""``misinfo search``: Lucene / Kibana-style queries over the configured store."""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.cli.common import get_app, handle_errors
from crawler.resources.store import open_app_store

__all__ = ["search_command", "search_json"]


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest", "score"]),
    default="relevance",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total", "hits": [...]} as JSON.')
@handle_errors
def search_command(query: str, limit: int, offset: int, sort: str, as_json: bool) -> None:
    """Search collected posts with Lucene / Kibana-style QUERY.

    \b
    Examples:
      misinfo search 'Hà Nội'                 words (with or without diacritics: 'ha noi')
      misinfo search '"tiêm vắc xin"'         an exact phrase
      misinfo search 'covid AND site:songhong.localhost'
      misinfo search 'flags:covid NOT section:"Thế giới"'
      misinfo search 'published_at:[2026-11-01 TO 2026-11-30] tiêm*'
    """
    from index import SearchRequest

    app = get_app()
    store = open_app_store(app)
    try:
        response = store.search(SearchRequest(query=query, limit=limit, offset=offset, sort=sort))  # type: ignore[arg-type]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(search_json(response), ensure_ascii=False, indent=2))
        return
    click.echo(f"{response.total} result(s)")
    for position, hit in enumerate(response.hits, start=offset + 1):
        doc = hit.document
        flags = f" [{', '.join(doc.flags)}]" if doc.flags else ""
        click.echo(f"\n{position}. {click.style(doc.title or '(no title)', bold=True)}{flags}")
        click.echo(
            f"   {doc.source} · {doc.site} · {doc.published_at or 'no date'} · {doc.author or 'no author'}"
        )
        click.echo(f"   {doc.url}")
        snippet = "".join(
            click.style(text, fg="yellow", bold=True) if match else text
            for text, match in hit.snippet
        )
        if snippet:
            click.echo(f"   {snippet}")


def search_json(response: Any) -> dict[str, Any]:
    return {
        "total": response.total,
        "hits": [
            {
                "id": hit.document.id,
                "url": hit.document.url,
                "title": hit.document.title,
                "author": hit.document.author,
                "source": hit.document.source,
                "site": hit.document.site,
                "section": hit.document.section,
                "published_at": hit.document.published_at,
                "snippet": hit.snippet_text,
                "flags": hit.document.flags,
                "scores": hit.document.scores,
                "score": hit.score,
            }
            for hit in response.hits
        ],
    }
