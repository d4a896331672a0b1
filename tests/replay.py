"""The live loop's replay, shared by the tests that read its home (the `replay_home` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

REPLAY_START = "2025-12-01"  # the last candle stored when the replay's model is trained
REPLAY_DAYS = 36  # daily runs at 00:30 on 2025-12-02 .. 2026-01-06
SYMBOLS = ("BTCUSDT", "ETHUSDT")
FIRST_RUN = datetime.fromisoformat(REPLAY_START).replace(tzinfo=UTC) + timedelta(days=1, minutes=30)
LAST_RUN = FIRST_RUN + timedelta(days=REPLAY_DAYS - 1)


def replay(home: Path, data_dir: Path) -> None:
    """BTCUSDT and ETHUSDT 1d backfilled through 2025-12-01, a quick training run of both
    (baselines and an MLP; the gate serves what wins), then the daily run at 00:30 UTC each day
    from 2025-12-02 to 2026-01-06, which logs every day's forecasts (`live`) and scores those
    whose target closed (35 at h = 1 per model)."""
    from candlecast.settings import Settings
    from daily_pipeline.run import run as daily
    from feature_pipeline import backfill
    from feature_pipeline.source import open_source
    from feature_store import open_registry, open_store
    from training_pipeline.config import QUICK
    from training_pipeline.run import run as train

    settings = Settings(home=home, now=FIRST_RUN, symbols=SYMBOLS)
    store, registry = open_store(settings), open_registry(settings)
    source = open_source(settings, f"csv:{data_dir}")
    backfill.run(settings, store, source, settings.symbols, "1d", progress=False)
    config = QUICK.with_overrides(models=("mlp",), epochs=1)
    train(settings, store, registry, config=config, progress=False)
    for day in range(REPLAY_DAYS):
        today = settings.with_overrides(now=FIRST_RUN + timedelta(days=day))
        source = open_source(today, f"csv:{data_dir}")  # a file source serves up to its clock
        summary = daily(today, store, source, registry=registry)
        assert summary.exit_code == 0, summary.to_dict()
