"""Options analytics as a library: readers of recorded option data and the pure maths of
implied volatility (issue 14, first half).

A leaf package: it imports nothing from the rest of `backend` but `backend.validation`, so it
can move with any restructuring of the service. Modules:

- `errors`: `OptionFileError(line, reason)`, `OptionInputError(field, reason)`;
- `lean`, `yahoo`, `vix`: readers (bytes or a path -> pandas), all or nothing, line-exact;
- `bsm`: Black-Scholes-Merton price, vega, delta, bounds; vectorised implied volatility;
- `quotes`: mid quote (or last, flagged), time to expiry to 16:00 New York;
- `chain`: put-call parity forward, implied dividend yield, per-contract volatility and delta,
  ATM volatility per expiry, term structure, constant-maturity (30-day) volatility;
- `rank`: IV rank and percentile over the last 252 snapshots;
- `signal`: sell premium / cheap hedge / neutral / earnings soon, with its inputs.

Not here yet (the integration half): the provider (yfinance), storage of daily snapshots, the
CLI import, the scheduler, the API routes and the dashboard.
"""
