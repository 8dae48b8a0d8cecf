"""PDF documents the service issues: the certificate, the application receipt and the refusal decision.

One cached WeasyPrint renderer (``render``) and one small module per document kind that turns a
frozen data snapshot into a template context. See ``render.py`` for how to add a document kind.
"""

from .certificate import CertificateData, render_certificate
from .receipt import AttachedDocument, ReceiptData, render_receipt
from .refusal import RefusalData, RefusalReason, render_refusal
from .render import DocumentMetadata, DocumentRenderer, default_renderer, render_pdf

__all__ = [
    "AttachedDocument",
    "CertificateData",
    "DocumentMetadata",
    "DocumentRenderer",
    "ReceiptData",
    "RefusalData",
    "RefusalReason",
    "default_renderer",
    "render_certificate",
    "render_pdf",
    "render_receipt",
    "render_refusal",
]
