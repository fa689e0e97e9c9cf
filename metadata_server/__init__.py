"""The metadata / deployment server: Heat-compatible API, per-server documents, signals."""
