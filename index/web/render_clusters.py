"""The spread timeline of a cluster as an inline SVG, built from escaped pieces.

One row per site (in order of first appearance), one dot per member at its time, each dot a
link to the post with its site, time and title as a tooltip. No inline styles or scripts
(the CSP forbids them): classes only, styled by ``app.css``.
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup

from index.query import to_utc_iso
from index.spread import ClusterMember, member_order

__all__ = ["spread_svg"]

ROW = 26
LABEL = 190
WIDTH = 900
TOP = 22


def _moment(member: ClusterMember) -> datetime | None:
    value = to_utc_iso(member.time)
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def spread_svg(members: list[ClusterMember]) -> Markup:
    """The timeline of ``members`` (empty when none has a time)."""
    timed = [(member, _moment(member)) for member in sorted(members, key=member_order)]
    timed = [(member, moment) for member, moment in timed if moment is not None]
    if not timed:
        return Markup("")
    sites: list[str] = []
    for member, _ in timed:
        if member.document.site not in sites:
            sites.append(member.document.site)
    first, last = timed[0][1], timed[-1][1]
    span = max((last - first).total_seconds(), 1.0)
    plot = WIDTH - LABEL - 20
    height = TOP + ROW * len(sites) + 24
    parts = [
        Markup(
            '<svg class="spread" viewBox="0 0 {w} {h}" role="img" '
            'aria-label="copies per site over time">'
        ).format(w=WIDTH, h=height),
        Markup('<text class="axis" x="{x}" y="14">{t}</text>').format(
            x=LABEL, t=first.strftime("%Y-%m-%d %H:%M UTC")
        ),
        Markup('<text class="axis end" x="{x}" y="14">{t}</text>').format(
            x=WIDTH - 20, t=last.strftime("%Y-%m-%d %H:%M UTC")
        ),
    ]
    for row, site in enumerate(sites):
        y = TOP + ROW * row + ROW / 2
        parts.append(
            Markup(
                '<g class="site-row" data-site="{site}"><text class="site" x="{x}" y="{y:.1f}">'
                '{label}</text><line class="lane" x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}"/>'
                "</g>"
            ).format(
                site=site,
                label=site if len(site) <= 28 else site[:27] + "…",
                x=LABEL - 8,
                y=y + 4,
                x1=LABEL,
                x2=WIDTH - 20,
            )
        )
    for number, (member, moment) in enumerate(timed):
        doc = member.document
        x = LABEL + plot * (moment - first).total_seconds() / span
        y = TOP + ROW * sites.index(doc.site) + ROW / 2
        kind = "first" if number == 0 else ("flagged" if doc.flags else "copy")
        label = f"{doc.site} · {moment:%Y-%m-%d %H:%M} UTC · {doc.title or doc.text[:80]}"
        parts.append(
            Markup(
                '<a href="/posts/{id}"><circle class="dot {kind}" cx="{x:.1f}" cy="{y:.1f}" r="6">'
                "<title>{label}</title></circle></a>"
            ).format(id=doc.id, kind=kind, x=x, y=y, label=label)
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
