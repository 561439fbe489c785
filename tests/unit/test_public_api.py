"""The package's public names."""

from __future__ import annotations

import windtunnel


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ names every public attribute of the package and nothing else."""
    public = {name for name in vars(windtunnel)
              if not name.startswith("_") and not isinstance(getattr(windtunnel, name),
                                                             type(windtunnel))}
    public.discard("annotations")

    assert set(windtunnel.__all__) - {"__version__"} == public


def test_errors_share_one_base() -> None:
    """Every error windtunnel raises on purpose derives from WindtunnelError."""
    for name in windtunnel.__all__:
        value = getattr(windtunnel, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, windtunnel.WindtunnelError)
