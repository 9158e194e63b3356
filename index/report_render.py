"""The period report as Markdown, a standalone HTML document, and the links behind counts.

The standalone HTML (``misinfo report --format html``, and the PDF printed from it) carries
its charts as ``data:`` URIs and its own stylesheet, so one file is the whole report. Counts
link to the UI's rows page (``/report/rows/<count>?from=&to=``) when a base URL is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from index.report import COUNT_KEYS, Report

__all__ = ["COUNT_LABELS", "count_links", "report_html", "report_markdown", "rows_link"]

#: The report's templates sit with the web UI's (the Report page renders the same ones).
REPORT_TEMPLATE_DIR = Path(__file__).resolve().parent / "web" / "templates"

COUNT_LABELS = {
    "sites_reviewed": "Websites reviewed",
    "accounts_reviewed": "Social accounts reviewed",
    "items_flagged": "Posts flagged (Covid, claim)",
    "items_confirmed": "Posts confirmed false or misleading",
    "sites_confirmed": "Newspaper-style sites confirmed",
    "cases_opened": "Cases opened",
    "cases_sanctioned": "Cases sanctioned",
    "subjects_sanctioned": "Subjects sanctioned",
    "fines_total": "Fines (đồng)",
    "cases_removed": "Cases ended by removal",
    "cases_dismissed": "Cases dismissed",
    "tips_received": "Citizen reports received",
    "tips_answered": "Citizen reports answered",
    "removals_confirmed": "Removals confirmed by takedown checks",
}
DETAIL_LABELS = {
    "items_flagged_covid": "Posts flagged Covid-19",
    "items_flagged_claim": "Posts flagged as likely-false claims",
    "sites_crawled": "Websites crawled",
    "accounts_crawled": "Social accounts crawled",
    "cases_closed": "Cases closed",
}


def format_count(key: str, value: int) -> str:
    """Thousands with dots, as Vietnamese documents write them (1.038.750.000 đồng)."""
    text = f"{int(value):,}".replace(",", ".")
    return f"{text} đồng" if key == "fines_total" else text


def rows_link(report: Report, key: str, base: str = "") -> str:
    query = urlencode({"from": report.from_day.isoformat(), "to": report.to_day.isoformat()})
    return f"{base.rstrip('/')}/report/rows/{key}?{query}"


def count_links(report: Report, base: str = "") -> dict[str, str]:
    return {key: rows_link(report, key, base) for key in COUNT_KEYS}


def report_markdown(report: Report, *, base_url: str | None = None) -> str:
    links = count_links(report, base_url) if base_url else {}
    lines = [
        f"# Report {report.from_day.isoformat()} – {report.to_day.isoformat()}",
        "",
        "| | count |",
        "|---|---:|",
    ]
    for key in COUNT_KEYS:
        value = format_count(key, report.counts[key])
        label = COUNT_LABELS[key]
        lines.append(f"| {label} | {f'[{value}]({links[key]})' if links else value} |")
    lines += ["", "## Details", "", "| | count |", "|---|---:|"]
    lines += [f"| {DETAIL_LABELS[k]} | {format_count(k, v)} |" for k, v in report.details.items()]
    lines += ["", "## Top subjects", ""]
    if report.top_subjects:
        lines += ["| subject | kind | flagged | confirmed | cases | fines (đồng) |"]
        lines += ["|---|---|---:|---:|---:|---:|"]
        lines += [
            f"| {row['subject']} | {row['kind']} | {row['flagged']} | {row['confirmed']} | "
            f"{row['cases']} | {format_count('', row['fines'])} |"
            for row in report.top_subjects
        ]
    else:
        lines.append("None in this period.")
    lines += ["", "## Case outcomes", ""]
    lines += [f"- {status}: {n}" for status, n in report.case_outcomes.items()]
    lines += ["", "## Time from flag to decision", ""]
    lines += [f"- {label}: {n}" for label, n in report.decision_histogram()]
    lines += ["", "## Flagged and confirmed per week", "", "| week | flagged | confirmed |"]
    lines += ["|---|---:|---:|"]
    lines += [f"| {week} | {f} | {c} |" for week, f, c in report.weekly if f or c]
    lines += ["", f"Generated {report.generated_at}.", ""]
    return "\n".join(lines)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(REPORT_TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = lambda value, key="": format_count(key, value)
    return env


def report_context(
    report: Report, charts: list[dict[str, str]], links: dict[str, str]
) -> dict[str, Any]:
    return {
        "report": report,
        "count_keys": COUNT_KEYS,
        "labels": COUNT_LABELS,
        "detail_labels": DETAIL_LABELS,
        "charts": charts,
        "links": links,
        "histogram": report.decision_histogram(),
    }


def report_html(report: Report, *, base_url: str | None = None) -> str:
    """A standalone HTML document (charts inlined)."""
    from index.report_charts import chart_images

    links = count_links(report, base_url) if base_url else {}
    template = _environment().get_template("report_document.html")
    return template.render(report_context(report, chart_images(report), links))
