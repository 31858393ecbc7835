"""Alerts: users' rules on score changes, evaluated once per data version, with webhooks."""
