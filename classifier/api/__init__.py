"""The HTTP service (FastAPI): `create_app()` builds it."""

from classifier.api.app import create_app

__all__ = ["create_app"]
