"""The URLs the engine hands to servers: where to poll, where to signal.

The API layer knows the public base URL and the signing key; it makes an `Endpoints` from them
for its own answers and hands one to the engine, so the engine core needs no request object. The
routes that check these URLs are in metadata_server/api (signals.py, signed_metadata.py,
servers.py, cfn.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from metadata_server.service.credentials import metadata_signature, signal_signature
from metadata_server.service.keystone import deployment_password


@dataclass(frozen=True)
class Endpoints:
    base_url: str
    signing_key: str

    def signal_url(self, deployment_id: str, expires_at: datetime | None) -> str:
        expires = (str(int(expires_at.replace(tzinfo=timezone.utc).timestamp()))
                   if expires_at else "")
        query = f"expires={expires}&" if expires else ""
        return (f"{self.base_url}/v1/signal/deployments/{deployment_id}"
                f"?{query}sig={signal_signature(self.signing_key, deployment_id, expires)}")

    def signal_target(self, tenant: str, deployment_id: str,
                      expires_at: datetime | None) -> "SignalTarget":
        return SignalTarget(self, tenant, deployment_id, expires_at)

    def server_metadata_url(self, tenant: str, server_id: str) -> str:
        return f"{self.base_url}/v1/{tenant}/servers/{server_id}/metadata"

    def signed_metadata_url(self, server_id: str, access_key: str) -> str:
        signature = metadata_signature(self.signing_key, server_id, access_key)
        return f"{self.base_url}/v1/metadata/{server_id}?sig={signature}"

    def cfn_url(self) -> str:
        return f"{self.base_url}/v1/"

    def resource_signal_url(self, tenant: str, stack_name: str, stack_id: str,
                            resource: str) -> str:
        return (f"{self.base_url}/v1/{tenant}/stacks/{stack_name}/{stack_id}"
                f"/resources/{resource}/signal")


@dataclass(frozen=True)
class SignalTarget:
    """Where, and as whom, an agent signals one deployment: what its deploy_* inputs carry."""
    endpoints: Endpoints
    tenant: str
    deployment_id: str
    expires_at: datetime | None

    def url(self) -> str:
        """CFN_SIGNAL and TEMP_URL_SIGNAL: a signed URL, good until the deployment's timeout."""
        return self.endpoints.signal_url(self.deployment_id, self.expires_at)

    def keystone_user(self) -> dict[str, str]:
        """HEAT_SIGNAL: the deployment's own keystone user on stoker's /v3 (service/keystone.py)."""
        return {"deploy_auth_url": f"{self.endpoints.base_url}/v3",
                "deploy_username": self.deployment_id,
                "deploy_user_id": self.deployment_id,
                "deploy_password": deployment_password(self.endpoints.signing_key,
                                                       self.deployment_id),
                "deploy_project_id": self.tenant}


LOCAL = Endpoints("http://127.0.0.1:8004", "unset")
