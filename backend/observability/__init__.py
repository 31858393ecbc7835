"""Logs (JSON or text, with the request id), request ids, and Prometheus metrics."""
