"""The plugin manager: loads built-in and external plugins and keeps registries of components.

Built-in plugins (``appraisal_plugins.*``) register through the same hooks and
the same manager as third-party ones.  External plugins come from the
``appraisal`` entry-point group, or from ``--plugin MODULE_OR_FILE``.

Loading is defensive, because a broken plugin must not lock people out of the
CLI: each entry point is loaded on its own, a failure is rolled back and
recorded (``appraisal plugins`` lists it), and the rest still loads.  With
``strict=True`` (``APPRAISAL_STRICT_PLUGINS=1``) a failure is fatal instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from pydantic import ValidationError

from . import __version__, hookspecs
from .components import COMPONENT_KINDS, Component, ComponentOptions
from .errors import AppraisalError, PluginError
from .i18n import Message, join_values
from .rubric import ComponentRef, Rubric, pydantic_message
from .yamlio import Loc

ENTRY_POINT_GROUP = "appraisal"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "appraisal_plugins.readers",
    "appraisal_plugins.weighting",
    "appraisal_plugins.calibration",
    "appraisal_plugins.classification",
    "appraisal_plugins.development",
    "appraisal_plugins.flags",
    "appraisal_plugins.integrity",
    "appraisal_plugins.asn",
    "appraisal_plugins.asn_curve",
    "appraisal_plugins.asn_example",
    "appraisal_plugins.examples",
    "appraisal_plugins.writers",
    "appraisal_plugins.report_html",
    "appraisal_plugins.report_xlsx",
)

REGISTRATION_HOOKS: dict[str, str] = {
    "reader": "register_readers",
    "input table": "register_input_tables",
    "weighting scheme": "register_weighting_schemes",
    "calibration step": "register_calibrators",
    "classifier": "register_classifiers",
    "development recommender": "register_recommenders",
    "flag rule": "register_flag_rules",
    "output format": "register_output_formats",
    "example": "register_examples",
}

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")

@dataclass(frozen=True)
class PluginInfo:
    """A registered plugin, for ``appraisal plugins`` and the run manifest."""

    name: str
    version: str | None
    source: str  # "built-in", "distribution <name>", "module", "file <path>"


@dataclass(frozen=True)
class LoadFailure:
    name: str
    source: str
    error: str


@dataclass(frozen=True)
class Registered:
    """A component and the plugin that registered it."""

    component: Component
    plugin: str


@dataclass
class PluginHost:
    """A plugin manager plus the component registries built from it.

    Create it with :func:`get_plugin_host`; tests build a fresh one per test.
    """

    pm: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)
    _registries: dict[str, dict[str, Registered]] | None = None

    # -- loading -------------------------------------------------------------

    def register(self, plugin: Any, name: str, info: PluginInfo) -> None:
        """Register ``plugin`` under ``name`` and check it fully, or leave no trace.

        The check covers hook names (``check_pending``), component types and
        component-name clashes, so a faulty plugin is caught here, by name.
        """
        try:
            self.pm.register(plugin, name=name)
            self.info[name] = info
            self._registries = None
            self.pm.check_pending()
            self.registries()
        except Exception:
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            self.info.pop(name, None)
            self._registries = None
            raise

    def load_entrypoints(self, blocked: Iterable[str] = (), strict: bool = False) -> None:
        """Load every plugin of the ``appraisal`` entry-point group, each in isolation."""
        for name in blocked:
            self.pm.set_blocked(name)
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self.pm.is_blocked(ep.name) or self.pm.has_plugin(ep.name):
                continue
            source = f"distribution {ep.dist.name}" if ep.dist else "entry point"
            try:
                self.register(ep.load(), ep.name, PluginInfo(ep.name, ep.dist.version if ep.dist else None, source))
            except Exception as exc:  # noqa: BLE001 - isolating broken plugins is the point
                if strict:
                    raise PluginError(f"plugin {ep.name!r} ({source}) failed to load: {exc}") from exc
                self.failures.append(LoadFailure(ep.name, source, f"{type(exc).__name__}: {exc}"))

    def load_local(self, spec: str) -> None:
        """Load a plugin named on the command line: an importable module or a ``.py`` file.

        :raises PluginError: when it cannot be imported or registered (the user asked for it explicitly).
        """
        try:
            if spec.endswith(".py"):
                module = _import_file(Path(spec))
                info = PluginInfo(spec, getattr(module, "__version__", None), f"file {spec}")
            else:
                module = importlib.import_module(spec)
                info = PluginInfo(spec, getattr(module, "__version__", None), "module")
            self.register(module, spec, info)
        except Exception as exc:
            raise PluginError(f"plugin {spec!r} failed to load: {type(exc).__name__}: {exc}") from exc

    # -- registries ----------------------------------------------------------

    def registries(self) -> dict[str, dict[str, Registered]]:
        """Components by kind and name, built once by calling every registration hook."""
        if self._registries is None:
            self._registries = {kind: self._collect(kind) for kind in REGISTRATION_HOOKS}
        return self._registries

    def _collect(self, kind: str) -> dict[str, Registered]:
        base = COMPONENT_KINDS[kind]
        found: dict[str, Registered] = {}
        caller = getattr(self.pm.hook, REGISTRATION_HOOKS[kind])
        # Each implementation is called on its own, in registration order (built-ins
        # first), so every component knows its plugin and a clash names the newcomer last.
        for impl in caller.get_hookimpls():

            def register(component: Any, _plugin: str = impl.plugin_name) -> None:
                if not isinstance(component, base):
                    raise PluginError(
                        f"plugin {_plugin!r} registered {component!r} as a {kind}, "
                        f"but it is not a {base.__module__}.{base.__name__}"
                    )
                name = getattr(component, "name", "")
                if not isinstance(name, str) or not NAME_PATTERN.match(name):
                    raise PluginError(f"plugin {_plugin!r} registered a {kind} with invalid name {name!r} (use kebab-case)")
                if name in found:
                    raise PluginError(
                        f"{kind} {name!r} is registered by both {found[name].plugin!r} and {_plugin!r}"
                    )
                found[name] = Registered(component, _plugin)

            impl.function(**{arg: register for arg in impl.argnames})
        return found

    def components(self, kind: str) -> dict[str, Registered]:
        return self.registries()[kind]

    def component(self, kind: str, name: str) -> Registered:
        """The component called ``name``.

        :raises AppraisalError: listing the available names when there is none.
        """
        available = self.components(kind)
        if name not in available:
            raise AppraisalError(self.unknown(kind, name).text("en"))
        return available[name]

    def unknown(self, kind: str, name: str) -> Message:
        return Message("unknown_component", {"kind": kind, "name": name, "available": join_values(sorted(self.components(kind)))})

    def reader_for(self, path: Path) -> Registered | None:
        suffix = path.suffix.lower()
        return next((r for r in self.components("reader").values() if suffix in r.component.suffixes), None)

    # -- rubric checks -------------------------------------------------------

    def check_rubric_components(self, rubric: Rubric) -> Iterable[tuple[Loc, Message]]:
        """Yield a problem for every component the rubric names that is missing or misconfigured."""
        scoring = rubric.scoring
        refs: list[tuple[str, Loc, ComponentRef]] = [("weighting scheme", ("scoring", "weighting"), scoring.weighting)]
        refs += [("calibration step", ("scoring", "calibration", i), ref) for i, ref in enumerate(scoring.calibration)]
        refs += [("flag rule", ("scoring", "flags", i), ref) for i, ref in scoring.flag_rules()]
        refs += [("classifier", ("scoring", "classification", i), ref) for i, ref in enumerate(scoring.classification)]
        if scoring.development is not None:
            refs.append(("development recommender", ("scoring", "development"), scoring.development))
        for kind, loc, ref in refs:
            yield from self.check_component_ref(kind, loc, ref, rubric)

    def check_component_ref(
        self, kind: str, loc: Loc, ref: ComponentRef, rubric: Rubric
    ) -> Iterable[tuple[Loc, Message]]:
        if ref.name not in self.components(kind):
            yield (*loc, "name"), self.unknown(kind, ref.name)
            return
        component = self.components(kind)[ref.name].component
        try:
            options = self.options(component, ref.options)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                yield (*loc, "options", *error["loc"]), pydantic_message(error, model=component.Options)
            return
        for inner, detail in component.check(rubric, options):
            yield (*loc, "options", *inner), Message("field_invalid", {"detail": detail})

    @staticmethod
    def options(component: Component, raw: dict[str, Any]) -> ComponentOptions:
        return component.Options.model_validate(raw)

    # -- introspection -------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """One record per plugin: name, version, source, hooks, components by kind."""
        owned: dict[str, dict[str, list[str]]] = {}
        for kind, registry in self.registries().items():
            for name, registered in registry.items():
                owned.setdefault(registered.plugin, {}).setdefault(kind, []).append(name)
        records = []
        for name, info in self.info.items():
            plugin = self.pm.get_plugin(name)
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
            records.append(
                {
                    "name": name,
                    "version": info.version,
                    "source": info.source,
                    "hooks": hooks,
                    "components": {kind: sorted(names) for kind, names in sorted(owned.get(name, {}).items())},
                }
            )
        return records


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    module_name = f"appraisal_local_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    return module


def get_plugin_host(
    *,
    load_entrypoints: bool = True,
    local_plugins: Sequence[str] = (),
    blocked: Iterable[str] = (),
    strict: bool = False,
    builtins: Sequence[str] = DEFAULT_PLUGINS,
) -> PluginHost:
    """Build a plugin host: built-ins, then entry points, then ``--plugin`` modules or files.

    :param load_entrypoints: load the ``appraisal`` entry-point group (tests turn this off).
    :param local_plugins: module names or ``.py`` paths given with ``--plugin``.
    :param blocked: entry-point names not to load (``APPRAISAL_DISABLE_PLUGINS``).
    :param strict: make a failing entry point fatal (``APPRAISAL_STRICT_PLUGINS=1``).
    :raises PluginError: for a failing ``--plugin``, a hook typo (``check_pending``) or a name clash.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    host = PluginHost(pm)
    for module_name in builtins:
        host.register(importlib.import_module(module_name), module_name, PluginInfo(module_name, __version__, "built-in"))
    if load_entrypoints:
        host.load_entrypoints(blocked=blocked, strict=strict)
    for spec in local_plugins:
        host.load_local(spec)
    return host
