"""Form schemas and their tooling: one JSON Schema per page or user task drives the HTML form,
the server-side validation of the page and of the API, and the per-field Russian messages.

- identifiers: checks for СНИЛС, ИНН, ОГРН/ОГРНИП, КПП, БИК, accounts, ЕНП, passport fields
- formats: those checks as JSON Schema formats (FormatChecker)
- validation: load_schema, validate, normalize, clean, validate_bank_details, format_checker
- rules: cross-field rules (`x-rules`): dates vs today, age at issue, the certificate period
- dates, period: ДД.ММ.ГГГГ <-> ISO; period kind -> from/to
- flat, rendering: posted form <-> API dict; view models and Jinja2 macros (templates/forms/macros.html)
"""
