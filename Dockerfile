# Segel app image, in three stages: node bundles the PWA; a wheel is built that carries the bundle, the
# templates, the JSON Schemas and the translation catalogue as package data (setup.py); the final image
# installs only that wheel, with the pinned dependencies. No source tree, node or build tool is left in it.
# It runs as the unprivileged user `segel`, and the one place it writes is SEGEL_DATA_DIR (/var/lib/segel,
# a volume: the notification outbox).

FROM node:20-bookworm-slim AS pwa
WORKDIR /src
COPY package.json package-lock.json ./
# The bundle needs no native module (sqlite3 and leveldown serve the development database only), so no
# install script runs; esbuild finds its binary in the platform package npm installs from the lock file.
# esbuild is a devDependency: --include=dev keeps it even where NODE_ENV=production would leave it out.
RUN npm ci --ignore-scripts --include=dev --no-audit --no-fund
COPY pwa/build.mjs ./pwa/build.mjs
COPY pwa/static ./pwa/static
# The app's texts: build.mjs turns the catalogue's pwa: entries into pwa/static/i18n/*.json for the bundle.
COPY locale ./locale
RUN node pwa/build.mjs

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY constraints.txt ./
# The pinned setuptools builds the wheel (no build isolation: nothing unpinned is fetched for the build).
RUN pip install --no-cache-dir -c constraints.txt setuptools
COPY pyproject.toml setup.py ./
COPY server ./server
COPY sync ./sync
COPY records ./records
COPY store ./store
COPY schemas ./schemas
COPY locale ./locale
COPY pwa/templates ./pwa/templates
COPY --from=pwa /src/pwa/static ./pwa/static
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation -w /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SEGEL_HOST=0.0.0.0 SEGEL_PORT=8000 SEGEL_DATA_DIR=/var/lib/segel
RUN groupadd --system --gid 10001 segel \
 && useradd --system --uid 10001 --gid segel --home-dir /var/lib/segel --no-create-home \
      --shell /usr/sbin/nologin segel \
 && install -d -o segel -g segel -m 0750 /var/lib/segel
COPY --from=wheel /wheels /tmp/wheels
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/wheels/segel-*.whl \
 && rm -rf /tmp/wheels /tmp/constraints.txt
USER segel:segel
WORKDIR /var/lib/segel
# Declared after the directory is made and chowned, so a new volume starts out owned by segel.
VOLUME ["/var/lib/segel"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# X-Forwarded-For is believed only from the proxies named in SEGEL_TRUSTED_PROXIES (none by default).
CMD ["segel", "serve"]
