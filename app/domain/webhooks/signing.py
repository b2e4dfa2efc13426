"""Webhook secrets and Standard Webhooks signatures (`webhook-id`, `-timestamp`, `-signature`)."""

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook as Signer

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
_SECRET_BYTES = 32


def new_secret() -> str:
    """A random signing secret in the Standard Webhooks form: `whsec_` and base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def valid_secret(secret: str) -> bool:
    """Whether a given secret is `whsec_` and base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        return False
    return 24 <= len(raw) <= 64


def headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt of one message."""
    signature = Signer(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
