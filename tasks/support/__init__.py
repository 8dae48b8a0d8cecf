"""Support requests («Обращения») and applications filed by the support line on a citizen's call."""
