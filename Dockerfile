# Slim, non-root image serving the API with uvicorn. It holds what the build
# context holds (.dockerignore): the code, pyproject.toml and uv.lock.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
# uv from its own image: installed into no Python's packages.
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
# The code's bytecode as well: the server's user cannot write it, and would
# otherwise compile every module at every start.
RUN python -m compileall -q accounts api products storefront

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app conveyor
WORKDIR /app
# Owned by root: the server's user reads the code and its packages, and can
# change neither.
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production
USER conveyor
EXPOSE 8000
# Plain HTTP to 127.0.0.1: the probes answer it whatever SECURE_SSL_REDIRECT
# and ALLOWED_HOSTS say (api/health.py).
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# One server process per core unless WEB_CONCURRENCY says how many: one
# process uses one core.
CMD ["sh", "-c", "exec uvicorn api.asgi:application --host 0.0.0.0 --port 8000 --proxy-headers --workers ${WEB_CONCURRENCY:-$(nproc)}"]
