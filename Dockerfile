# Segel app image: the PWA is bundled in a node stage, the server runs on Python 3.11.
FROM node:20-bookworm-slim AS pwa
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional
COPY pwa ./pwa
RUN node pwa/build.mjs

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY server ./server
COPY sync ./sync
COPY schemas ./schemas
COPY pwa ./pwa
COPY --from=pwa /src/pwa/static/dist ./pwa/static/dist
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system --uid 10001 segel
USER segel
EXPOSE 8000
ENV SEGEL_HOST=0.0.0.0 SEGEL_PORT=8000
HEALTHCHECK --interval=15s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["python", "-m", "server", "serve", "--forwarded-allow-ips", "*"]
