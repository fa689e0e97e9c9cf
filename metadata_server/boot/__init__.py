"""The boot path: what a server with user_data_format SOFTWARE_CONFIG receives as user_data so
that a stock cloud image installs, configures and starts stoker's agent. Pure functions only
(no Flask, no I/O): callers pass the settings and get text back."""
