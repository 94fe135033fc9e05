# countersign: the webhook server. Build with `docker build -t countersign .`; run with compose.yaml
# (or `docker run --env-file .env -p 8080:8080 countersign`).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# the bot never needs root: it runs as this user, which owns nothing in the image
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin countersign

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY bot ./bot
# the demo's GitHub stand-in (countersign_fakegithub in pyproject.toml): built into the package
# list, never imported by the server (its dependencies are the demo extra, not installed here)
COPY tests/fakegithub ./tests/fakegithub
# installed from this tree with pip (config/ ships inside the package as bot.config), then the
# source is removed so that only the installed package runs
RUN pip install . && rm -rf /app/bot /app/tests && cd / && python -m bot check-config /app/config/default.yml

USER countersign
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('PORT') or '8080') + '/healthz', timeout=4)"]
CMD ["python", "-m", "bot", "serve"]
