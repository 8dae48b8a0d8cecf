"""The documents of an application draft, and taking them back: a document the person removed, or a whole
draft given up, leaves neither a row nor a file behind (152-FZ). The wizard's pages and the deletion of an
account both use these."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.cases.models.cases import Document, Draft
from tasks.cases.storage import FileStore
from tasks.config import AppConfig


def draft_documents(session: Session, draft: Draft) -> list[Document]:
    """The draft's uploads not yet part of an application, oldest first."""
    return list(session.scalars(select(Document).where(Document.draft_id == draft.id,
                                                       Document.owner_id == draft.owner_id,
                                                       Document.application_id.is_(None))
                                .order_by(Document.id)))


def delete_document(session: Session, config: AppConfig, doc: Document) -> None:
    """Remove the row and the file: a document the person took back is not kept (152-FZ)."""
    key = doc.storage_key
    session.delete(doc)
    session.commit()
    FileStore(config.uploads_dir).path(key).unlink(missing_ok=True)


def discard_draft(session: Session, config: AppConfig, draft: Draft) -> None:
    """Delete the draft with every document uploaded to it."""
    for doc in draft_documents(session, draft):
        delete_document(session, config, doc)
    session.delete(draft)
    session.commit()
