"""Snapshots of the embedded cloud's service state, for fast resets between tests."""

from __future__ import annotations

import contextlib
import copy
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["BackendSnapshot", "restore_backends", "snapshot_backends"]

# One moto backend: (service name, account ID, region) -> the backend object.
_Key = tuple[str, str, str]


@dataclass(frozen=True)
class BackendSnapshot:
    """A deep copy of every moto backend in use when it was taken, and of windtunnel's own
    service state."""

    backends: dict[_Key, Any]
    own_state: dict[str, Any]


# A Condition binds its lock's C methods, which deepcopy would share with the original,
# so it is replaced whole rather than copied.
_LOCK_TYPES: dict[type, Any] = {
    type(threading.Lock()): threading.Lock,
    type(threading.RLock()): threading.RLock,
    threading.Condition: threading.Condition,
}
_copy_guard = threading.Lock()

# moto's dictionary subclasses whose constructors take arguments, which the standard
# deepcopy of a dict subclass does not pass: (module, class name).
_MAPPINGS_WITH_ARGUMENTS = (
    ("moto.ssm.models", "ParameterDict"),
    ("moto.secretsmanager.models", "SecretsStore"),
    ("moto.s3.models", "MultipartDict"),
    ("moto.s3.utils", "_VersionedKeyStore"),
    ("moto.dynamodb.models.dynamo_type", "LimitedSizeDict"),
)


def _copy_mapping(mapping: Any, memo: dict[int, Any]) -> Any:
    """Deep-copy a dict subclass without calling its constructor."""
    cls: Any = type(mapping)
    duplicate = cls.__new__(cls)
    memo[id(mapping)] = duplicate
    if isinstance(mapping, defaultdict):
        duplicate.default_factory = mapping.default_factory
    duplicate.__dict__.update(copy.deepcopy(mapping.__dict__, memo))
    for key, value in dict.items(mapping):
        dict.__setitem__(duplicate, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
    return duplicate


def _special_copiers() -> dict[type, Any]:
    copiers: dict[type, Any] = {
        lock_type: (lambda _lock, _memo, factory=factory: factory())
        for lock_type, factory in _LOCK_TYPES.items()
    }
    for module_name, class_name in _MAPPINGS_WITH_ARGUMENTS:
        # A module that is not imported yet has no instances to copy.
        module = sys.modules.get(module_name)
        mapping_class = getattr(module, class_name, None) if module else None
        if mapping_class is not None:
            copiers[mapping_class] = _copy_mapping
    return copiers


@contextlib.contextmanager
def _fresh_locks_on_copy() -> Iterator[None]:
    """Teach ``deepcopy`` the objects in moto's state that it cannot copy by itself.

    Each lock becomes a new, released lock: the standard library refuses to copy locks,
    and a lock in a snapshot must be a new one anyway. Dictionary subclasses whose
    constructors take arguments are rebuilt without calling them. The change to ``copy``'s
    dispatch table lasts only for the copy.
    """
    dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    copiers = _special_copiers()
    with _copy_guard:
        dispatch.update(copiers)
        try:
            yield
        finally:
            for copied_type in copiers:
                dispatch.pop(copied_type, None)


def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    unique: dict[int, Any] = {}
    instances: list[Any] = BackendDict._instances  # type: ignore[misc]
    for backend_dict in instances:
        unique[id(backend_dict)] = backend_dict
    return list(unique.values())


def snapshot_backends(own_state: dict[str, Any]) -> BackendSnapshot:
    """Copy the state of every moto backend in use, and ``own_state``.

    All backends are copied in one ``deepcopy`` call so objects that two services share
    (an SQS queue that a Lambda event source mapping points at, say) stay shared.
    """
    live: dict[_Key, Any] = {}
    for backend_dict in _backend_dicts():
        for account_id, region, backend in backend_dict.iter_backends():
            live[(backend_dict.service_name, account_id, region)] = backend
    with _fresh_locks_on_copy():
        backends, own = copy.deepcopy((live, own_state))
    return BackendSnapshot(backends=backends, own_state=own)


def restore_backends(snapshot: BackendSnapshot, own_state: dict[str, Any]) -> None:
    """Put every moto backend, and ``own_state``, back to their state in ``snapshot``.

    Backends created after the snapshot are reset to empty; ``own_state`` is updated in
    place, so references to it stay valid. The snapshot itself stays untouched, so it can
    be restored again.
    """
    with _fresh_locks_on_copy():
        restored, own = copy.deepcopy((snapshot.backends, snapshot.own_state))
    own_state.clear()
    own_state.update(own)
    for backend_dict in _backend_dicts():
        for account_id, account_backends in list(backend_dict.items()):
            for region in list(account_backends.keys()):
                key = (backend_dict.service_name, account_id, region)
                if key in restored:
                    dict.__setitem__(account_backends, region, restored.pop(key))
                else:
                    account_backends[region].reset()
    for (service, account_id, region), backend in restored.items():
        # A backend that existed at snapshot time but was dropped since (moto's reset
        # clears its dictionaries): put it back.
        import moto.backends as backends

        service_backends: Any = backends.get_backend(service)  # type: ignore[call-overload]
        dict.__setitem__(service_backends[account_id], region, backend)
