"""The device as a service: the ASGI app (API, page, metrics), its auth, and the state it serves."""
