"""Staff analytics: what shoppers asked, what went unanswered, handoffs and recommendation clicks.

:mod:`~assistant.analytics.store` records one row per addressed shopper message (and per product
recommended or clicked); :mod:`~assistant.analytics.report` turns them, with the handoff table,
into per-day and per-group figures for the console and the CSV export.
"""

from assistant.analytics.links import links_text, tracked_links
from assistant.analytics.report import Report, build_report
from assistant.analytics.store import AnalyticsStore, open_store

__all__ = ["AnalyticsStore", "Report", "build_report", "links_text", "open_store", "tracked_links"]
