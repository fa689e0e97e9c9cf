"""The web dashboard at /dashboard: server-rendered pages over the same services as the API."""
from metadata_server.dashboard.blueprint import bp  # noqa: F401
from metadata_server.dashboard import auth_pages, server_pages, stack_pages, template_pages  # noqa: F401,E501
