"""The environment variables of an execution environment, reserved ones included.

Names and values as Lambda defines them for its runtimes:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from windtunnel.runtime.environment import FunctionConfig

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["environment_variables", "role_credentials"]

# Variables of the host process that a function keeps, so that subprocesses and locale
# handling work as on the developer's machine.
_INHERITED = ("PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "PYTHONPATH", "VIRTUAL_ENV")


def role_credentials(role_arn: str, session_name: str) -> tuple[str, str, str]:
    """Return the temporary credentials of a role session: key ID, secret, token.

    They derive from the role and the session name, so each function has its own access key
    and a principal can be told from the key.
    """
    digest = hashlib.sha256(f"{role_arn}|{session_name}".encode()).hexdigest().upper()
    access_key = "ASIA" + digest[:16]
    secret = hashlib.sha256(f"secret|{digest}".encode()).hexdigest()[:40]
    token = "IQoJb3JpZ2luX2VjE" + hashlib.sha256(f"token|{digest}".encode()).hexdigest()
    return access_key, secret, token


def environment_variables(config: FunctionConfig, cloud: Cloud) -> dict[str, str]:
    """Build the variables an execution environment of ``config`` starts with."""
    variables = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    python_version = config.runtime.replace("python", "") or "3"
    access_key, secret, token = role_credentials(config.role_arn, config.function_name)
    cloud.register_role_session(access_key, config.role_arn, config.function_name,
                                function_name=config.function_name, secret_key=secret,
                                session_token=token)

    variables.update({
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": config.handler,
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group_name,
        "AWS_ACCESS_KEY": access_key,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": token,
        "LAMBDA_TASK_ROOT": str(config.code_path),
        "LAMBDA_RUNTIME_DIR": str(config.code_path),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_ENDPOINT_URL": cloud.endpoint_url,
        "PYTHON_VERSION": python_version,
    })
    if urlsplit(cloud.endpoint_url).scheme == "https":
        # The endpoint's certificate comes from the local certificate authority, which
        # the handler's TLS clients (botocore, requests, ssl, Node.js) trust through these.
        variables.update(_trusting_local_authority())
    # The function's own variables come last: Lambda rejects reserved names in them, and
    # the deployment already did, so nothing reserved is overwritten here.
    variables.update(config.environment)
    return variables


def _trusting_local_authority() -> dict[str, str]:
    """Return the variables that name the local authority's bundle, creating it if missing.

    The HTTPS server ensured the authority when it started, so only a missing bundle
    (deleted since, or a server in another process) costs more than a file check.
    """
    # Imported here: cryptography takes tens of milliseconds to import, and most runs
    # serve no HTTPS.
    from windtunnel.cloud.tls import CertificateAuthority

    authority = CertificateAuthority()
    if not authority.bundle_path.is_file():
        authority.ensure()
    return authority.trust_variables()
