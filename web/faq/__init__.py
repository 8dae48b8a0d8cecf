"""The public FAQ («Вопросы и ответы»): pages from Markdown files in web/faq/answers, editable without code."""
