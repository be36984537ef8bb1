"""The Starlette server: app factory, settings, pages, identity."""

# The application's databases are registered with store/ as soon as any part of the server is loaded, so a
# script that bootstraps without naming them gets Segel's (see server/databases.py).
import server.databases  # noqa: F401
