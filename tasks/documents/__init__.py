"""PDF documents the service issues: the certificate and the application receipt.

One cached WeasyPrint renderer (``render``) and one small module per document kind that turns a
frozen data snapshot into a template context. See ``render.py`` for how to add a document kind.
"""

from .certificate import CertificateData, render_certificate
from .receipt import AttachedDocument, ReceiptData, render_receipt
from .render import DocumentMetadata, DocumentRenderer, default_renderer, render_pdf

__all__ = [
    "AttachedDocument",
    "CertificateData",
    "DocumentMetadata",
    "DocumentRenderer",
    "ReceiptData",
    "default_renderer",
    "render_certificate",
    "render_pdf",
    "render_receipt",
]
