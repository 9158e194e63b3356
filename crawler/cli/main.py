"""The ``misinfo`` group: global options, and every command registered from its own module."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.app import App, default_data_dir
from crawler.cli.analyze import analyze_command
from crawler.cli.cases import cases_group
from crawler.cli.clusters import alerts_command, clusters_group, trends_command, watches_group
from crawler.cli.crawl import crawl_command
from crawler.cli.demo import demo_command
from crawler.cli.evidence import evidence_group
from crawler.cli.index import index_group
from crawler.cli.models import evaluate_command, train_command
from crawler.cli.report import report_command
from crawler.cli.review import export_command, review_group
from crawler.cli.run import run_command
from crawler.cli.search import search_command
from crawler.cli.sites import sites_command
from crawler.cli.sources import runs_command, sources_command
from crawler.cli.subjects import subjects_group
from crawler.cli.tips import tips_group
from crawler.cli.web import serve_command, users_group

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MISINFO_CONFIG",
    help="Config directory; its files override the bundled ones file by file. [env: MISINFO_CONFIG]",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MISINFO_DATA_DIR",
    help=f"Where the index, run history and models live. [env: MISINFO_DATA_DIR; default: {default_data_dir()}]",
)
@click.version_option(package_name="misinfo-monitor")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, data_dir: Path | None) -> None:
    """misinfo-monitor: watch Vietnamese sites for false claims, Covid-19 rumours and
    newspaper-style sites.

    Start with `misinfo demo`, which serves local demo sites, crawls them and shows searches.
    """
    if config_dir is not None and not config_dir.is_dir():
        raise click.BadParameter(f"{config_dir} is not a directory", param_hint="--config")
    ctx.obj = App(config_dir=config_dir, data_dir=data_dir or default_data_dir())


for _command in (
    sources_command,
    crawl_command,
    runs_command,
    search_command,
    demo_command,
    analyze_command,
    train_command,
    evaluate_command,
    sites_command,
    review_group,
    export_command,
    index_group,
    serve_command,
    users_group,
    run_command,
    evidence_group,
    subjects_group,
    cases_group,
    tips_group,
    report_command,
    clusters_group,
    trends_command,
    alerts_command,
    watches_group,
):
    main.add_command(_command)
