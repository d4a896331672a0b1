"""A local stand-in for the part of Binance's REST API candlecast uses (development, tests)."""
