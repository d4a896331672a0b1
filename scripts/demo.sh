#!/usr/bin/env bash
# The platform end to end on the embedded store, fully offline: the Binance simulator serves the real candles in
# ../shared/data/binance with its clock on 2026-01-06 12:00 UTC (that day's candle is still open), then
# backfill to 2025-11-30 -> quick training of both symbols -> daily (catches up to 2026-01-05, logs forecasts) ->
# hindcast of December -> monitor -> retrain -> evaluation -> forecast -> status -> the app on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
DATA=${CANDLE_DATA_DIR:-../shared/data/binance}
NOW=${DEMO_NOW:-2026-01-06T12:00:00Z}
SIM_PORT=${DEMO_SIM_PORT:-9000}
APP_PORT=${DEMO_APP_PORT:-7860}

export CANDLECAST_HOME=${CANDLECAST_HOME:-.candlecast}
export CANDLECAST_NOW=$NOW
export BINANCE_API_URL=http://127.0.0.1:$SIM_PORT/api
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Binance simulator on port $SIM_PORT over $DATA (clock: $NOW)"
$BIN/candlecast binance-sim --data "$DATA" --port "$SIM_PORT" --now "$NOW" &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    $BIN/python -c "import urllib.request as u; u.urlopen('$BINANCE_API_URL/v3/ping', timeout=1)" 2>/dev/null && break
    sleep 0.2
done

step "Backfill BTCUSDT and ETHUSDT daily candles and features through 2025-11-30 into $CANDLECAST_HOME"
$BIN/candlecast backfill --symbols BTCUSDT,ETHUSDT --interval 1d --end 2025-11-30

step "Quick training of BTCUSDT and ETHUSDT on candles through 2025-11-30 (baselines, MLP, LSTM; the gate picks what is served)"
$BIN/candlecast train --symbols BTCUSDT,ETHUSDT --interval 1d --quick

step "Daily run: catches up the 36 candles since, logs today's forecasts (live) and scores what has closed"
$BIN/candlecast daily --symbols BTCUSDT,ETHUSDT --interval 1d

step "Hindcast from 2025-12-01: the as-of forecasts of the 35 origins the model was not fitted on"
$BIN/candlecast hindcast --symbols BTCUSDT,ETHUSDT --interval 1d --from 2025-12-01

step "Monitor the hindcasts against no change (exit 3 would mean the served model is degraded)"
$BIN/candlecast monitor --symbols BTCUSDT,ETHUSDT --interval 1d --kind hindcast || [ $? -eq 3 ]

step "Retrain what is older than 30 days (the models were fitted through 2025-11-30)"
$BIN/candlecast retrain --symbols BTCUSDT,ETHUSDT --interval 1d --max-age 30d

for symbol in BTCUSDT ETHUSDT; do
    step "Walk-forward evaluation of the model served for $symbol"
    $BIN/candlecast evaluate --symbol "$symbol" --interval 1d
done

step "7-day forecasts"
$BIN/candlecast forecast --symbol BTCUSDT --steps 7
$BIN/candlecast forecast --symbol ETHUSDT --steps 7

step "What the store and registry hold"
$BIN/candlecast status

step "The app on http://127.0.0.1:$APP_PORT (Ctrl-C to stop)"
$BIN/candlecast app --host 127.0.0.1 --port "$APP_PORT"
