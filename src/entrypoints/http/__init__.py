"""The HTTP entrypoint: a thin FastAPI layer over the use cases."""
