"""Keep each execution environment's modules apart from every other's.

Two functions often have a module of the same name (``app.py``, ``handler.py``,
``utils.py``). Python has one ``sys.modules`` per process, so each environment imports
its code with its own directories first on ``sys.path``, and afterwards moves the modules
that came from those directories out of ``sys.modules`` into its own table. The handler's
module keeps references to what it imported. Imports that the handler makes later, while
it runs, are served from the environment's table or directories by a finder that reads the
current context.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["ModuleSpace", "active_space"]

# Imports change sys.path and sys.modules, which every thread shares: one at a time.
_import_lock = threading.RLock()
_current_space: ContextVar[ModuleSpace | None] = ContextVar("windtunnel_modules",
                                                            default=None)
_finder_lock = threading.Lock()
_finder_installed = False


class ModuleSpace:
    """The modules that one execution environment imported from its code and layers."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = [str(path) for path in paths]
        self._roots = tuple(os.path.join(path, "") for path in self.paths)
        self.modules: dict[str, ModuleType] = {}

    def owns(self, module: ModuleType) -> bool:
        """Tell whether ``module`` was loaded from this environment's directories."""
        location = getattr(module, "__file__", None)
        if location:
            return str(location).startswith(self._roots)
        search_path = getattr(module, "__path__", None)
        if search_path is not None:
            return any(str(entry).startswith(self._roots) or str(entry) in self.paths
                       for entry in list(search_path))
        return False

    def import_module(self, name: str) -> ModuleType:
        """Import ``name`` from this environment's directories, isolated from others."""
        _install_finder()
        with _import_lock:
            shadowed = self._stash_shadowed_modules()
            known = set(sys.modules)
            sys.path[0:0] = self.paths
            try:
                with active_space(self):
                    return importlib.import_module(name)
            finally:
                for path in self.paths:
                    if path in sys.path:
                        sys.path.remove(path)
                self._claim(set(sys.modules) - known)
                sys.modules.update(shadowed)

    def claim_new_modules(self, known_count: int) -> None:
        """Move modules imported during an invocation out of ``sys.modules``."""
        if len(sys.modules) == known_count:
            return
        with _import_lock:
            self._claim({name for name, module in list(sys.modules.items())
                         if self.modules.get(name) is module or self.owns(module)})

    def _claim(self, names: set[str]) -> None:
        for name in names:
            module = sys.modules.get(name)
            if module is not None and self.owns(module):
                self.modules[name] = sys.modules.pop(name)

    def _top_level_names(self) -> set[str]:
        names: set[str] = set()
        for path in self.paths:
            try:
                entries = os.listdir(path)
            except OSError:
                continue
            for entry in entries:
                stem, extension = os.path.splitext(entry)
                if extension in (".py", ".pyc", ".so") or \
                        os.path.isdir(os.path.join(path, entry)):
                    names.add(stem.split(".")[0])
        return names

    def _stash_shadowed_modules(self) -> dict[str, ModuleType]:
        """Take out modules of the same names as ours, so that ours get imported."""
        top_level = self._top_level_names()
        # Decide for every module before removing any: a namespace package recomputes its
        # path from its parent, which must still be in sys.modules when it is looked at.
        names = [name for name, module in list(sys.modules.items())
                 if name.split(".", 1)[0] in top_level and module is not None
                 and not self.owns(module)]
        shadowed: dict[str, ModuleType] = {}
        for name in names:
            module = sys.modules.pop(name, None)
            if module is not None:
                shadowed[name] = module
        return shadowed


class _EnvironmentFinder(importlib.abc.MetaPathFinder):
    """Finds modules for code that runs inside an execution environment."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        space = _current_space.get()
        if space is None:
            return None
        module = space.modules.get(fullname)
        if module is not None:
            return importlib.util.spec_from_loader(fullname, _ExistingModuleLoader(module))
        if "." in fullname:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, space.paths)


class _ExistingModuleLoader(importlib.abc.Loader):
    """Hands back a module the environment imported before."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        return None


def _install_finder() -> None:
    global _finder_installed
    with _finder_lock:
        if not _finder_installed:
            sys.meta_path.insert(0, _EnvironmentFinder())
            _finder_installed = True


class active_space:
    """Context manager: make ``space`` the environment whose modules imports see."""

    def __init__(self, space: ModuleSpace) -> None:
        self.space = space
        self._token: Any = None

    def __enter__(self) -> ModuleSpace:
        self._token = _current_space.set(self.space)
        return self.space

    def __exit__(self, *_: object) -> None:
        _current_space.reset(self._token)


def iter_layer_paths(layer: Path) -> Iterator[Path]:
    """Return the directories a Python layer adds to ``sys.path``, in Lambda's order.

    Lambda extracts layers to /opt and puts /opt/python/lib/python3.x/site-packages and
    /opt/python on the path:
    https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (layer / "python" / "lib" / version / "site-packages", layer / "python"):
        if candidate.is_dir():
            yield candidate
