"""The plugin contract: hook specifications.

Plugin authors implement any of these functions in a module (or class),
decorated with ``@appraisal.hookimpl``, and expose the module through the
``appraisal`` entry-point group::

    [project.entry-points.appraisal]
    my_plugin = "appraisal_my_plugin"

or load it without packaging with ``appraisal --plugin path/to/file.py``.

Every hook is a **registration** hook: it receives a ``register`` callable and
calls it once per component it offers.  The engine records which plugin
registered each component, rejects two components with the same name, and
runs only the components the rubric (or the command line) names, in the order
it names them.  Results therefore never depend on the order in which plugins
were installed or registered.

Rules for implementations:

* Never give hook-implementation parameters default values: pluggy does not pass them.
* Import heavy libraries inside component methods, not at module import, so
  ``appraisal --help`` stays fast.
* Start every plugin module with ``from __future__ import annotations``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

PROJECT_NAME = "appraisal"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marker for hook implementations: ``@hookimpl``."""

if TYPE_CHECKING:
    from .components import (
        Calibrator,
        Classifier,
        Example,
        FlagRule,
        InputTable,
        OutputFormat,
        Recommender,
        TableReader,
        WeightingScheme,
    )


@hookspec
def register_readers(register: Callable[[TableReader], None]) -> None:
    """Register readers for input file formats (ratings, roster, other tables).

    :param register: call ``register(reader)`` with a :class:`~appraisal.components.TableReader`
        instance.  ``reader.suffixes`` (e.g. ``(".csv",)``) say which files it
        reads; two readers claiming one suffix is a start-up error naming both plugins.
    :returns: nothing.
    """


@hookspec
def register_input_tables(register: Callable[[InputTable], None]) -> None:
    """Register further input tables (``appraisal run --input NAME=FILE``), e.g. supervisors' decisions.

    :param register: call ``register(table)`` with an :class:`~appraisal.components.InputTable`
        instance; ``table.name`` is the NAME users give on the command line.
    :returns: nothing.

    The engine validates every row (required values, allowed choices, known
    employees, duplicates) and accounts for it like a rating row.
    """


@hookspec
def register_weighting_schemes(register: Callable[[WeightingScheme], None]) -> None:
    """Register weighting schemes that rubrics select under ``scoring.weighting``.

    :param register: call ``register(scheme)`` with a :class:`~appraisal.components.WeightingScheme`
        instance; ``scheme.name`` must be unique across all plugins.
    :returns: nothing.

    The scheme's ``Options`` model validates ``scoring.weighting.options``;
    ``appraisal run --weighting NAME`` overrides the rubric's choice.
    """


@hookspec
def register_calibrators(register: Callable[[Calibrator], None]) -> None:
    """Register calibration steps that rubrics list under ``scoring.calibration``.

    :param register: call ``register(step)`` with a :class:`~appraisal.components.Calibrator` instance.
    :returns: nothing.

    Steps run in the order the rubric lists them (or ``--calibration`` gives
    them), each receiving the previous step's scores.
    """


@hookspec
def register_classifiers(register: Callable[[Classifier], None]) -> None:
    """Register classifiers that turn scores into categories (``scoring.classification``).

    :param register: call ``register(classifier)`` with a :class:`~appraisal.components.Classifier` instance.
    :returns: nothing.
    """


@hookspec
def register_recommenders(register: Callable[[Recommender], None]) -> None:
    """Register development-plan recommenders (``scoring.development``).

    :param register: call ``register(recommender)`` with a :class:`~appraisal.components.Recommender` instance.
    :returns: nothing.
    """


@hookspec
def register_flag_rules(register: Callable[[FlagRule], None]) -> None:
    """Register flag rules that rubrics list under ``scoring.flags``.

    :param register: call ``register(rule)`` with a :class:`~appraisal.components.FlagRule` instance.
    :returns: nothing.

    A rule whose class sets ``reads_scores = False`` looks only at the ratings
    and their weights: it is checked as soon as the weights are known, with
    ``scores=None`` and ``data`` without classifications.  On runs of 2,000
    employees or more, where the system can fork, such rules run in worker
    processes forked from the run, side by side with each other and with the
    rest of the run: each sees the run's data as it is, its returned flags come
    back pickled, and nothing else it changes reaches the run.  Rules that read
    the scores are checked in the run's process once the scores and
    classifications exist.  Flags come back in the rubric's rule order either way.
    """


@hookspec
def register_output_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register output formats for ``appraisal run --format NAME``.

    :param register: call ``register(fmt)`` with an :class:`~appraisal.components.OutputFormat` instance.
    :returns: nothing.

    A format writes files into a staging directory; the engine moves them into
    the output directory only when the whole run succeeded.
    """


@hookspec
def register_examples(register: Callable[[Example], None]) -> None:
    """Register ready-to-run examples for ``appraisal init --profile NAME``.

    :param register: call ``register(example)`` with an :class:`~appraisal.components.Example` instance.
    :returns: nothing.

    An example writes a rubric, input files and a README for HR into a new
    directory, so a profile (e.g. a country's civil-service rules) can ship a
    complete demonstration of its components.
    """
