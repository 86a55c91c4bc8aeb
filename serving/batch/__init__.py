"""Offline batch inference over files and Parquet datasets: `digits batch` and `digits pack`."""
