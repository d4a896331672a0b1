"""Point-in-time (as-of) joins: another series' features onto each row, as of the row's close.

The rule: a row gets the partner row whose candle closed last at or before the row's candle
closed (`partner.close_time <= row.close_time`). A still-open partner candle is never used,
and rows whose partner has no closed candle yet are dropped, never filled. Each joined value
depends only on the row's own close time, so training (the whole history) and serving (the last
rows, or rows up to any origin) get the same values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from candlecast.errors import FeatureGroupNotFound, ValidationError
from candlecast.intervals import check_interval, epoch_ms, interval_ms
from candlecast.settings import check_symbol
from feature_pipeline.groups import FEATURE_COLUMNS, FEATURES
from feature_store.base import FeatureStore

logger = logging.getLogger(__name__)

SEPARATOR = "__"  # between a join's prefix and the partner's column: `btcusdt_1d__ret_1`
CLOSE_TIME = "close_time"


@dataclass(frozen=True)
class Join:
    """Join `columns` of the (symbol, interval) features series, as of each row's close."""

    symbol: str
    interval: str
    columns: tuple[str, ...] = FEATURE_COLUMNS

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", check_symbol(self.symbol.strip().upper()))
        check_interval(self.interval)
        object.__setattr__(self, "columns", tuple(self.columns))
        unknown = [c for c in self.columns if c not in ("close", *FEATURE_COLUMNS)]
        if unknown or not self.columns:
            raise ValidationError(
                f"join columns {unknown or list(self.columns)} are not {FEATURES.table_name} "
                f"columns; pick from close, {', '.join(FEATURE_COLUMNS)}"
            )

    @property
    def prefix(self) -> str:
        return f"{self.symbol.lower()}_{self.interval}{SEPARATOR}"

    @property
    def output_columns(self) -> tuple[str, ...]:
        """The joined feature columns, in order (e.g. `btcusdt_1d__ret_1`)."""
        return tuple(self.prefix + c for c in self.columns)

    @property
    def close_time_column(self) -> str:
        """The partner row's close time, kept next to its values so a join can be audited."""
        return self.prefix + CLOSE_TIME

    @classmethod
    def parse(cls, text: str) -> Join:
        """`SYMBOL:INTERVAL` or `SYMBOL:INTERVAL:col1,col2` (e.g. `BTCUSDT:1d:ret_1,vol_7`)."""
        parts = text.strip().split(":")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ValidationError(
                f"join {text!r} is not SYMBOL:INTERVAL[:col1,col2]; e.g. BTCUSDT:1d"
            )
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        return cls(parts[0], parts[1], tuple(c.strip() for c in parts[2].split(",") if c.strip()))

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "interval": self.interval, "columns": list(self.columns)}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Join:
        return cls(record["symbol"], record["interval"], tuple(record["columns"]))


def joined_columns(joins: Iterable[Join]) -> tuple[str, ...]:
    """Every joined feature column of `joins`, in order."""
    return tuple(c for join in joins for c in join.output_columns)


def joins_of(data: Mapping[str, Any] | None) -> tuple[Join, ...]:
    """The joins recorded in a bundle's `data` (or a view's data_version); () when none."""
    return tuple(Join.from_dict(j) for j in (data or {}).get("joins") or ())


def close_ms(frame: pd.DataFrame, interval: str) -> np.ndarray:
    """Each row's candle close in epoch ms: `close_time`, else open_time + interval - 1 ms."""
    if CLOSE_TIME in frame.columns:
        return epoch_ms(frame[CLOSE_TIME]).to_numpy()
    return epoch_ms(frame["open_time"]).to_numpy() + (interval_ms(interval) - 1)


def asof_join(
    rows: pd.DataFrame,
    partner: pd.DataFrame,
    *,
    interval: str,
    partner_interval: str,
    columns: Sequence[str],
    prefix: str,
    by: str | None = None,
) -> pd.DataFrame:
    """`rows` with the partner's `columns` (prefixed) as of each row's close; unmatched dropped.

    With `by` (e.g. "symbol"), each row is matched within the partner rows of the same key.
    The result is ordered like `rows` sorted by (`by`, close time) and gains
    `{prefix}close_time`, the matched partner row's close.
    """
    missing = [c for c in ("open_time", *columns, *([by] if by else [])) if c not in partner]
    if missing:
        raise ValidationError(f"partner rows lack column(s) {missing}; pass FEATURES rows")
    taken = [prefix + c for c in (*columns, CLOSE_TIME) if prefix + c in rows.columns]
    if taken:
        raise ValidationError(
            f"the rows already hold {taken}: a series is joined once; "
            "list every column it needs in one Join"
        )
    left = close_ms(rows, interval)
    right = close_ms(partner, partner_interval)
    if by is None:
        order_l, order_r = np.argsort(left, kind="stable"), np.argsort(right, kind="stable")
        key_l, key_r = left[order_l], right[order_r]
    else:
        key_l, key_r, order_l, order_r = _keyed(rows[by], left, partner[by], right)
    found = np.searchsorted(key_r, key_l, side="right") - 1
    matched = found >= 0
    if by is not None:  # the match must belong to the same key, not the previous key's last row
        same = np.zeros(len(found), dtype=bool)
        codes_l, codes_r = key_l // _SPAN, key_r // _SPAN
        same[matched] = codes_r[found[matched]] == codes_l[matched]
        matched = same
    keep, source = order_l[matched], order_r[found[matched]]
    out = _gathered(rows, keep, partner, source, columns, prefix)
    out[prefix + CLOSE_TIME] = pd.to_datetime(right[source], unit="ms", utc=True)
    return out


def _gathered(
    rows: pd.DataFrame,
    keep: np.ndarray,
    partner: pd.DataFrame,
    source: np.ndarray,
    columns: Sequence[str],
    prefix: str,
) -> pd.DataFrame:
    """rows[keep] followed by the prefixed partner[source] columns, in one float block.

    Taking each column straight into its place avoids pandas copying and consolidating
    the float blocks again (most of the time of a 300,000-row join).
    """
    floats = [c for c in rows.columns if rows[c].dtype == np.float64]
    block = np.empty((len(floats) + len(columns), len(keep)))
    for i, column in enumerate(floats):
        np.take(rows[column].to_numpy(), keep, out=block[i])
    for j, column in enumerate(columns):
        np.take(partner[column].to_numpy(dtype=np.float64), source, out=block[len(floats) + j])
    out = pd.DataFrame(block.T, columns=[*floats, *(prefix + c for c in columns)], copy=False)
    for position, column in enumerate(rows.columns):
        if column not in floats:
            out.insert(position, column, rows[column].array.take(keep))
    return out


# Wider than any epoch-ms close time this code will meet (2^42 ms is the year 2109).
_SPAN = 1 << 42


def _keyed(
    by_l: pd.Series, left: np.ndarray, by_r: pd.Series, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted (key code, close) int64 keys of both sides and the orders that sort them."""
    for times in (left, right):
        if len(times) and (times.min() < 0 or times.max() >= _SPAN):
            raise ValidationError("close times lie outside 1970..2109; pass UTC candle times")
    codes, _ = pd.factorize(np.concatenate([by_l.to_numpy(), by_r.to_numpy()]), sort=True)
    codes = codes.astype(np.int64) * _SPAN
    key_l, key_r = codes[: len(left)] + left, codes[len(left) :] + right
    order_l, order_r = np.argsort(key_l, kind="stable"), np.argsort(key_r, kind="stable")
    return key_l[order_l], key_r[order_r], order_l, order_r


def apply_joins(
    rows: pd.DataFrame,
    partners: Mapping[Join, pd.DataFrame],
    joins: Sequence[Join],
    *,
    interval: str,
) -> pd.DataFrame:
    """One series' rows with every join applied in turn (rows lacking any partner dropped)."""
    out = rows.sort_values("open_time", kind="stable").reset_index(drop=True)
    for join in joins:
        if join not in partners:
            raise ValidationError(f"no partner rows given for the join {join.prefix}")
        before = len(out)
        out = asof_join(
            out,
            partners[join],
            interval=interval,
            partner_interval=join.interval,
            columns=join.columns,
            prefix=join.prefix,
        )
        if len(out) < before:
            logger.info(
                "join %s: %d early row(s) without a partner dropped", join.prefix, before - len(out)
            )
    return out


def read_partner(
    store: FeatureStore,
    join: Join,
    rows: pd.DataFrame,
    *,
    interval: str,
    as_of_version: int | None = None,
) -> pd.DataFrame:
    """The partner rows a join of `rows` needs: those closed by the last row's close.

    A short recent range first; the whole series up to then when that range does not reach
    back to the first row's partner (a gap or a short history).
    """
    closes = close_ms(rows, interval)
    first, last = (
        pd.Timestamp(int(ms), unit="ms", tz="UTC") for ms in (closes.min(), closes.max())
    )
    step = timedelta(milliseconds=interval_ms(join.interval))
    read = {"symbol": join.symbol, "interval": join.interval, "as_of_version": as_of_version}
    columns = ["open_time", *dict.fromkeys(join.columns)]
    start = first - 2 * step
    recent = store.read(FEATURES, start=start, end=last, columns=columns, **read)
    if len(recent) and close_ms(recent, join.interval).min() <= closes.min():
        return recent
    whole = store.read(FEATURES, end=last, columns=columns, **read)
    if whole.empty:
        raise FeatureGroupNotFound(
            f"the join {join.prefix} finds no {join.symbol} {join.interval} features closed by "
            f"{last:%Y-%m-%d %H:%M}; run `candlecast backfill --symbols {join.symbol} "
            f"--interval {join.interval}` first"
        )
    return whole


def join_from_store(
    store: FeatureStore,
    rows: pd.DataFrame,
    joins: Sequence[Join],
    *,
    interval: str,
    as_of_version: int | None = None,
) -> pd.DataFrame:
    """One series' rows with `joins` applied, reading each partner from the features group."""
    if not joins or rows.empty:
        return rows
    partners = {
        join: read_partner(store, join, rows, interval=interval, as_of_version=as_of_version)
        for join in joins
    }
    return apply_joins(rows, partners, joins, interval=interval)


def join_for_model(store: FeatureStore, rows: pd.DataFrame, model: Any) -> pd.DataFrame:
    """Serving's rows for a bundle: its recorded joins applied (rows unchanged without joins).

    Raises when a partner series lags behind the newest row (its features not synced yet),
    since training would have joined a newer partner row there.
    """
    joins = joins_of(getattr(model, "data", None))
    interval = str(model.interval)
    joined = join_from_store(store, rows, joins, interval=interval)
    if joins and not joined.empty:
        check_partners_current(joined, joins, interval=interval)
    return joined


def check_partners_current(joined: pd.DataFrame, joins: Sequence[Join], *, interval: str) -> None:
    """Raise unless the newest row got each partner's candle that closed last by its close."""
    last = int(close_ms(joined.tail(1), interval)[0])
    for join in joins:
        step = interval_ms(join.interval)
        due = (last + 1) // step * step - 1  # the newest partner close at or before `last`
        got = int(epoch_ms(joined[join.close_time_column].tail(1)).iloc[0])
        if got < due:
            when = f"{pd.Timestamp(due - step + 1, unit='ms', tz='UTC'):%Y-%m-%d %H:%M}"
            raise FeatureGroupNotFound(
                f"the {join.symbol} {join.interval} features lack the candle of {when} that the "
                f"join {join.prefix} needs for the newest {interval} row; run "
                f"`candlecast daily --symbols {join.symbol} --interval {join.interval}` first"
            )
