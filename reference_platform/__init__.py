"""Reference provincial platform server: platform API v1 for development, demos and tests.

``create_app`` (app.py) builds the ASGI application, ``serve`` (server.py) runs it under
uvicorn, and ``kiosk platform serve`` is the command line (docs/platform.md).  The package
shares only contract helpers with the kiosk (signing, receipt numbers, the catalogue
loader) and never imports its devices, cache or screens (tests/test_layers.py).
"""
