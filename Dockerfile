FROM python:3.11-slim
WORKDIR /app
# WeasyPrint renders the certificates with Pango/HarfBuzz (fonts are bundled in tasks/documents/fonts).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY engine engine
COPY tasks tasks
COPY web web
COPY forms forms
COPY backoffice backoffice
COPY workflows workflows
RUN pip install --no-cache-dir .
ENV BACKOFFICE_WORKFLOWS_DIR=/app/workflows
CMD ["backoffice", "web", "--host", "0.0.0.0"]
