"""Extraction and analysis of fetched pages off the reactor, on every core.

- :mod:`crawler.processing.tasks`: what is done to a batch of pages or posts (the same code in
  a worker process and in the crawl process), and the jobs and outcomes that cross over.
- :mod:`crawler.processing.pool`: worker processes (spawned), a batch at a time each; a
  worker that dies is replaced and its batch retried once.
- :mod:`crawler.processing.stage`: one stage of the crawl (extract, analyse) as an ordered,
  bounded queue of jobs sent in batches; results come back in the order jobs went in.
- :mod:`crawler.processing.extension`: the Scrapy extension the spiders and pipelines ask.
"""
