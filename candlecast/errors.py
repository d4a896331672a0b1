"""The error hierarchy: every message names the rule that was broken and how to fix it."""


class CandlecastError(Exception):
    """Base class for every error the platform raises on purpose."""


class SettingsError(CandlecastError):
    """A setting (environment variable or CLI option) has an invalid value."""


class SourceError(CandlecastError):
    """A market-data source failed or returned something unusable."""


class UnknownSymbolError(SourceError):
    """The exchange does not know the symbol or the interval."""


class ValidationError(CandlecastError):
    """A frame broke a schema or data rule; nothing was written."""


class StoreError(CandlecastError):
    """The feature store or the model registry could not complete an operation."""


class FeatureGroupNotFound(StoreError):
    """A feature group (or the rows asked for) does not exist yet."""


class ModelNotFound(StoreError):
    """No registered model matches the request."""
