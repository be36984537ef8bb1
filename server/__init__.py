"""The Starlette server: app factory, settings, pages, identity."""
