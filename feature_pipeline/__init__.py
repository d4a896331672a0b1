"""Data pipeline: Binance source, validation, feature definitions and backfill."""
