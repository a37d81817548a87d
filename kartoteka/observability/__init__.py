"""Operations: Prometheus metrics, structured logs, request ids and readiness.

`asgi.install(app, settings)` is all the app factory calls: it adds the middleware
(request id, request metrics, the access log line), `/metrics` and `/readyz`, and sets
up log output when `KARTOTEKA_LOG_FORMAT` asks for it. Services feed their own
metrics through `observability.metrics`; nothing here imports a service's internals.
"""
