"""«Обращения» (support requests) over JSON and as pages, and the support line's hotline application."""
