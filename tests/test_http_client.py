"""The product's HTTP client (tasks/http.py) goes through the proxy the environment names, as httpx did."""

from __future__ import annotations

import urllib3

from tasks.http import pool_manager


def test_a_pool_goes_through_the_environment_s_proxy_unless_no_proxy_names_the_host(monkeypatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert not isinstance(pool_manager("http://registry.example:8000"), urllib3.ProxyManager)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,sms.example")
    via = pool_manager("http://registry.example:8000", retries=False)
    assert isinstance(via, urllib3.ProxyManager) and via.proxy.host == "proxy.example"
    assert not isinstance(pool_manager("http://sms.example/send"), urllib3.ProxyManager)
    assert not isinstance(pool_manager("https://registry.example"), urllib3.ProxyManager)  # no HTTPS_PROXY
