"""The forecast app (Gradio, Hugging Face Space) and the Forecaster behind it."""
