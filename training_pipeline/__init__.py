"""Training: feature view, windows, MLP/LSTM, tuning, walk-forward evaluation, registration."""
