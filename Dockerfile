FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine engine
COPY tasks tasks
COPY web web
COPY forms forms
COPY workflows workflows
RUN pip install --no-cache-dir .
ENV BACKOFFICE_WORKFLOWS_DIR=/app/workflows
CMD ["backoffice", "web", "--host", "0.0.0.0"]
