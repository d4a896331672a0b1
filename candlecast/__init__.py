"""candlecast: a feature-store ML platform that forecasts crypto prices with batch pipelines."""

__version__ = "0.1.0"
