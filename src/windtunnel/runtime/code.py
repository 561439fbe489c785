"""Where a function's code and its layers' content live on this machine."""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
import zipfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["code_path_of", "register_code_path"]

_STATE_KEY = "lambda"
_CODE_PATHS = "code_paths"
_EXTRACTED = Path(tempfile.gettempdir()) / "windtunnel-lambda-code"


def register_code_path(service_state: MutableMapping[str, Any], key: str, path: str) -> None:
    """Record the local directory of a function (by name) or layer version (by ARN)."""
    state = service_state.setdefault(_STATE_KEY, {})
    state.setdefault(_CODE_PATHS, {})[key] = path


def code_path_of(service_state: MutableMapping[str, Any], key: str) -> Path | None:
    """Return the registered local directory for a function name or layer version ARN."""
    path = service_state.get(_STATE_KEY, {}).get(_CODE_PATHS, {}).get(key)
    return Path(path) if path else None


def extract_package(package: bytes) -> Path:
    """Unpack a deployment package once, keyed by its digest, and return the directory.

    Functions created through the API (CreateFunction with a .zip) have no local directory;
    their package is unpacked, as Lambda unpacks it into /var/task.
    """
    digest = hashlib.sha256(package).hexdigest()
    target = _EXTRACTED / digest
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f"{digest[:12]}-", dir=_ensure(_EXTRACTED)))
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            archive.extractall(staging)
        # Another thread or process may have unpacked the same package first.
        with contextlib.suppress(OSError):
            staging.rename(target)
    return target


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory
