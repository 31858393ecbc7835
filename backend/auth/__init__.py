"""Users and authentication: Argon2 passwords, JWT access and refresh tokens (rotated, with
reuse detection), the admin token, and rate limiting."""
