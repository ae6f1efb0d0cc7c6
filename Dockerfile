# One image for every service: the command picks gateway, a service or a worker.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GUANJIA_ENV=production
WORKDIR /app
COPY pyproject.toml alembic.ini README.md ./
COPY services services
COPY intake intake
COPY routing routing
COPY deadlines deadlines
COPY ledger ledger
RUN pip install --no-cache-dir . && useradd --system --uid 10001 guanjia
USER guanjia
EXPOSE 8000
CMD ["guanjia", "serve", "gateway", "--host", "0.0.0.0", "--port", "8000"]
