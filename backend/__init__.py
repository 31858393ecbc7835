"""AlphaVelocity: momentum scores and portfolio analysis over a daily price store."""

__version__ = "0.1.0"
