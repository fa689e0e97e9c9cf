"""The boot path: what a server with user_data_format SOFTWARE_CONFIG receives as user_data so
that a stock cloud image installs, configures and starts stoker's agent. userdata.py,
bootstrap.py and units.py are pure (settings in, text out); wheelhouse.py and agent_wheel.py
gather and keep the agent's wheels the server serves (api/wheelhouse.py) and pins; agent_source.py
is what the engine calls at server create."""
