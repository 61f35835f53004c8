"""Reading a service's Prometheus metrics the way a Prometheus server does: over HTTP."""

from __future__ import annotations

from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

# Every sample of an exposition, by metric name and sorted labels.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).raise_for_status().text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_by_route(samples: Samples) -> Counter[tuple[str, str, str]]:
    """``http_requests_total`` by (method, route, status), summed over any other label."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for (name, labels), value in samples.items():
        if name == "http_requests_total":
            label = dict(labels)
            counts[label["method"], label["route"], label["status"]] += int(value)
    return counts
