"""Reusable parts of the OpenAPI document, taken from the code's single sources.

Enums (statuses, refusal reasons, document kinds, roles, inbox queues) are read from the modules that
define them, and request bodies that a form schema validates are that very schema (forms/schemas), so
the document cannot drift from what the API accepts.
"""

from __future__ import annotations

import copy
from typing import Any

from forms.validation import load_schema
from tasks.accounts.roles import ROLE_LABELS
from tasks.appointments.labels import STATUS_LABELS as APPOINTMENT_STATUSES
from tasks.cases.catalogue import APPLICANT_KINDS, services
from tasks.cases.labels import STATUS_LABELS, reason_labels
from tasks.cases.uploads import ALLOWED, DOCUMENT_KINDS, MAX_UPLOAD_BYTES
from tasks.inbox.filters import QUEUES
from tasks.legal.catalogue import DOCUMENT_IDS, acceptance_field
from tasks.support.labels import TYPE_LABELS as SUPPORT_TYPES

# UI hints of the form schemas that say nothing to an API client (labels of enums stay: they explain codes).
_UI_KEYS = frozenset({"x-widget", "x-step", "x-steps", "x-autocomplete", "x-placeholder", "x-initial",
                      "x-shown-when", "x-accept", "x-required-on-page", "$schema"})


def component_name(schema: str) -> str:
    """individual_application -> IndividualApplication: a catalogued service's body is named after its schema."""
    return "".join(part.capitalize() for part in schema.split("_"))


def application_bodies() -> dict[str, str]:
    """Every catalogued service's application schema, by component name. Read when the document is built,
    not at import: the catalogue is the installed configuration's (a deployment's own workflows folder)."""
    return {component_name(s.schema): s.schema for s in services()}


# Form schemas that are request bodies of the API besides the applications, by component name.
FORM_BODIES = {
    "Registration": "registration",
    "PolicyCheck": "policy_check",
    "Resubmission": "resubmission",
    "Appeal": "appeal",
    "AppealAnswer": "appeal_answer",
    "Profile": "profile",
    "SupportRequest": "support_request",
    "SupportMessage": "support_message",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(codes: dict[str, str] | tuple[str, ...], description: str) -> dict[str, Any]:
    """A string enum; with labels, `x-enum-labels` maps each code to its Russian wording."""
    schema: dict[str, Any] = {"type": "string", "enum": list(codes), "description": description}
    if isinstance(codes, dict):
        schema["x-enum-labels"] = dict(codes)
    return schema


def form_schema(name: str, component: str) -> dict[str, Any]:
    """A form's JSON Schema as a component: UI hints dropped, its `$defs` references re-rooted."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items() if k not in _UI_KEYS}
            if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/$defs/"):
                out["$ref"] = f"#/components/schemas/{component}/$defs/{out['$ref'][len('#/$defs/'):]}"
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(copy.deepcopy(load_schema(name)))


def _error() -> dict[str, Any]:
    field = {"type": "object", "required": ["field", "code", "message"],
             "properties": {"field": {"type": "string", "description": "Dotted path, e.g. person.snils"},
                            "code": {"type": "string"}, "message": {"type": "string"}}}
    return {"type": "object", "required": ["error"], "description": "The one error shape of the whole API.",
            "properties": {"error": {"type": "object", "required": ["code", "message", "fields"],
                                     "properties": {"code": {"type": "string", "description": "Stable English code"},
                                                    "message": {"type": "string", "description": "Russian text"},
                                                    "fields": {"type": "array", "items": field}}}}}


def _application() -> dict[str, Any]:
    reason = {"type": "object", "properties": {"code": {"type": "string", "description": "See ReasonCode."},
                                               "message": {"type": "string"}}}
    journal = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"},
                                                "actor": {"type": ["string", "null"]},
                                                "event": {"type": "string"}, "message": {"type": ["string", "null"]}}}
    return {"type": "object", "required": ["number", "applicant", "status", "status_label"],
            "properties": {"number": {"type": "string", "examples": ["2026-000123"]},
                           "applicant": {"type": "string", "enum": list(APPLICANT_KINDS)},
                           "service": {"type": "string", "enum": [s.id for s in services()],
                                       "description": "The catalogued service (workflows/services.toml)."},
                           "service_title": {"type": "string"},
                           "status": ref("CaseStatus"), "status_label": {"type": "string"},
                           "submitted_at": {"type": "string", "format": "date-time"},
                           "updated_at": {"type": "string", "format": "date-time"},
                           "reasons": {"type": "array", "items": reason},
                           "documents": {"type": "array", "items": ref("Document")},
                           "journal": {"type": "array", "items": journal},
                           "actions": {"type": "array", "items": {"type": "string"}}}}


def _document() -> dict[str, Any]:
    return {"type": "object", "required": ["id", "kind"],
            "properties": {"id": {"type": "integer"}, "kind": ref("DocumentKind"),
                           "filename": {"type": "string"}, "content_type": {"type": "string", "enum": list(ALLOWED)},
                           "size": {"type": "integer", "maximum": MAX_UPLOAD_BYTES}}}


def _profile_change() -> dict[str, Any]:
    """The profile's schema with every field optional: PATCH sends only what changes (null or "" clears)."""
    schema = form_schema("profile", "ProfileChange")
    schema.pop("required", None)
    return schema


def _legal_acceptance() -> dict[str, Any]:
    """`{document}_version` of each legal document: the version the person read and accepts."""
    return {"type": "object", "description": "Versions as listed by GET /legal/documents; every pending one "
                                             "is required (422 at the field otherwise).",
            "properties": {name: {"type": "string"} for name in map(acceptance_field, DOCUMENT_IDS)}}


def _support_request_view() -> dict[str, Any]:
    string = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    message = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}, "kind": string,
                                                "kind_label": string, "staff": {"type": "boolean"}, "text": string,
                                                "attachments": {"type": "array", "items": ref("Object")}}}
    return {"type": "object", "required": ["number", "type", "status"],
            "properties": {"number": {"type": "string", "examples": ["O-2026-000017"]},
                           "type": ref("SupportRequestType"), "type_label": string, "case_number": nullable,
                           "appeal_number": nullable, "status": string, "status_label": string,
                           "created_at": {"type": "string", "format": "date-time"}, "due_at": nullable,
                           "reply_until": nullable, "messages": {"type": "array", "items": message},
                           "actions": {"type": "array", "items": string}}}


def _slot() -> dict[str, Any]:
    text = {"type": "string"}
    return {"type": "object", "required": ["id", "ogrn", "specialty", "doctor", "starts_at", "ends_at"],
            "properties": {"id": text, "ogrn": text, "specialty": text, "room": text,
                           "doctor": {"type": "object", "properties": {"id": text, "name": text}},
                           "starts_at": {"type": "string", "format": "date-time"},
                           "ends_at": {"type": "string", "format": "date-time"}}}


def _appointment() -> dict[str, Any]:
    text, nullable = {"type": "string"}, {"type": ["string", "null"]}
    return {"type": "object", "required": ["number", "status", "status_label", "starts_at", "actions"],
            "properties": {"number": text, "status": ref("AppointmentStatus"), "status_label": text,
                           "organization": {"type": "object", "properties": {
                               "ogrn": text, "short_name": text, "name": nullable, "address": nullable,
                               "phone": nullable}},
                           "specialty": text, "doctor": nullable, "room": nullable, "slot_id": text,
                           "starts_at": {"type": "string", "format": "date-time"}, "ends_at": nullable,
                           "certificate_number": text, "created_at": {"type": "string", "format": "date-time"},
                           "change_until": {"type": "string", "format": "date-time"},
                           "actions": {"type": "array", "items": {"enum": ["move", "cancel"]}}}}


def schemas() -> dict[str, Any]:
    """Every component schema of the document."""
    out: dict[str, Any] = {
        "Error": _error(),
        "CaseStatus": _enum(STATUS_LABELS, "Status of an application (code -> Russian label)."),
        "ReasonCode": _enum(reason_labels(), "Refusal reason codes."),
        "DocumentKind": _enum(DOCUMENT_KINDS, "Kinds of uploaded documents (the multipart field `kind`)."),
        "Role": _enum(ROLE_LABELS, "Roles of accounts."),
        "TaskQueue": _enum(QUEUES, "Staff inbox queues."),
        "SupportRequestType": _enum(SUPPORT_TYPES, "Types of support requests."),
        "SupportRequestView": _support_request_view(),
        "AppointmentStatus": _enum(APPOINTMENT_STATUSES, "States of a doctor's appointment."),
        "Slot": _slot(),
        "Appointment": _appointment(),
        "LegalAcceptance": _legal_acceptance(),
        "Application": _application(),
        "Document": _document(),
        "Upload": {"type": "object", "required": ["file", "kind"],
                   "properties": {"file": {"type": "string", "format": "binary",
                                           "description": f"PDF, JPEG or PNG, at most {MAX_UPLOAD_BYTES} bytes"},
                                  "kind": ref("DocumentKind")}},
        "FileUpload": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}},
        "Reason": {"type": "object", "required": ["reason"],
                   "properties": {"reason": {"type": "string", "minLength": 1}}},
        "Object": {"type": "object", "description": "A JSON object; see the operation's description."},
    }
    applications = application_bodies()
    for component, name in {**applications, **FORM_BODIES}.items():
        out[component] = form_schema(name, component)
    out["ProfileChange"] = _profile_change()
    out["ApplicationRequest"] = {"oneOf": [ref(name) for name in applications],
                                 "description": "The application of one of the catalogued services (`service`; "
                                                "the certificates are chosen by `applicant` alone); "
                                                "`document_ids` (uploaded before) may be added."}
    return out
