"""Placeholder replaced below."""


def after_upsert(store, docs, assignments) -> None:
    return None
