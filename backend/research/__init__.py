"""Signal research: published momentum models side by side, and backtests of their scores."""
