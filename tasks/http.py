"""The product's HTTP client: urllib3 connection pools, for the registries, the SMS provider and /health.

urllib3 rather than httpx: the same keep-alive pools for about a third of httpx's CPU per request
(~0.4 instead of ~0.9 ms; an application makes three registry requests). Like httpx, a pool goes
through the proxy the environment names for its URL (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
"""

from __future__ import annotations

import urllib.request
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import urllib3


def pool_manager(url: str, **options: Any) -> urllib3.PoolManager:
    """A new pool manager for requests to `url`'s server, through the environment's proxy for it if any.
    `options` are urllib3's (timeout, retries, maxsize...)."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


@lru_cache(maxsize=16)
def shared_pool(url: str) -> urllib3.PoolManager:
    """One pool manager per URL for the whole process (thread-safe): a server's connection, and its TLS
    session, are kept between requests instead of made for each. No retries: callers decide."""
    return pool_manager(url, retries=False)
