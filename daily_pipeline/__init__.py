"""Daily incremental run that keeps the feature store fresh."""
