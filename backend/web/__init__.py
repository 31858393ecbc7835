"""The dashboard at /app: static pages that call the public JSON API."""
