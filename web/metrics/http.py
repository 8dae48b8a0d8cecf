"""The HTTP request duration histogram, kept in Redis so every web process adds to one histogram.

The web server runs several processes (gunicorn workers), and docker-compose may run several web
containers; whichever of them answers a scrape must report all requests. prometheus-client's own
multiprocess mode would need PROMETHEUS_MULTIPROC_DIR set before the library is imported, the
directory wiped at each start and dead workers' files marked, in every way the app is served
(`backoffice web`, `backoffice run`, an external `gunicorn web.wsgi:app`), and it would still count
per host. The app already shares one Redis, so each request adds its observation there: one
pipelined round trip (HINCRBY of its bucket and count, HINCRBYFLOAT of the sum), and a scrape
rebuilds the cumulative buckets with prometheus-client's HistogramMetricFamily. A Redis error
loses that observation only; the request itself never fails because of it.

Labels: the route's rule (`/api/v1/applications/<number>`, never the raw path, so the number of
series stays bounded; `<unmatched>` for 404s of unknown paths), the method and the status code.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import Histogram
from prometheus_client.metrics_core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString
from redis import Redis
from redis.exceptions import RedisError

from ..services import services

log = logging.getLogger(__name__)

HTTP_KEY = "backoffice:metrics:http"
BUCKETS: tuple[float, ...] = Histogram.DEFAULT_BUCKETS  # 5 ms ... 10 s, then +Inf
UNMATCHED = "<unmatched>"
_SEP = "\t"


def bucket_index(seconds: float) -> int:
    """Index of the first bucket whose upper bound holds `seconds` (the last one is +Inf)."""
    return bisect.bisect_left(BUCKETS, seconds)


def observe(redis: Redis, rule: str, method: str, status: int, seconds: float) -> None:
    labels = _SEP.join((rule, method, str(status)))
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(HTTP_KEY, f"{labels}{_SEP}b{bucket_index(seconds)}", 1)
            pipe.hincrbyfloat(HTTP_KEY, f"{labels}{_SEP}sum", seconds)
            pipe.execute()
    except RedisError as exc:
        log.debug("request duration not recorded: %s", exc)


def collect_http(redis: Redis) -> Iterator[HistogramMetricFamily]:
    """The histogram from the shared counts: per label set, cumulative buckets and the sum."""
    counts: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
    sums: dict[tuple[str, ...], float] = defaultdict(float)
    for raw_field, raw_value in redis.hgetall(HTTP_KEY).items():
        *labels, part = raw_field.decode().split(_SEP)
        key = tuple(labels)
        if part == "sum":
            sums[key] = float(raw_value)
        else:
            counts[key][int(part[1:])] += int(raw_value)
    family = HistogramMetricFamily("backoffice_http_request_duration_seconds",
                                   "Time to answer HTTP requests, by route rule, method and status.",
                                   labels=("rule", "method", "status"))
    for key in sorted(counts):
        cumulative, buckets = 0, []
        for bound, count in zip(BUCKETS, counts[key], strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        family.add_metric(list(key), buckets, sums.get(key, 0.0))
    yield family


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        observe(services().redis, rule, request.method, response.status_code,
                time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Time every request from before the first check that may refuse it to its response."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_record)
