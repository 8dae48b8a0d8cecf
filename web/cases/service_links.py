"""Where a catalogued service is applied for: its own page, else the portal's generic one-form page.

The home page's service list and the case page's «подайте новое заявление» link both ask here, so a
service without page code still gets its links.
"""

from __future__ import annotations

from flask import url_for

from tasks.cases.catalogue import Service


def apply_url(service: Service) -> str:
    """The page that starts an application for `service` (the service list for an uncatalogued case's stand-in)."""
    if not service.id:
        return url_for("public.home", _anchor="services")
    if service.apply_page:
        return url_for(service.apply_page)
    return url_for("service_apply.form", service_id=service.id)
