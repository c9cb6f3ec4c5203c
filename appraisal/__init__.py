"""360-degree competency appraisal engine.

Writing a plugin takes a module like this one::

    from __future__ import annotations

    import numpy as np
    from appraisal import hookimpl
    from appraisal.components import WeightingScheme

    class SupervisorOnly(WeightingScheme):
        name = "supervisor-only"
        summary = "Only the supervisor's rating counts."

        def weights(self, cells, data, options):
            supervisor = data.rubric.layout.group_ids.index("supervisor")
            return (cells.group == supervisor).astype(float)

    @hookimpl
    def register_weighting_schemes(register):
        register(SupervisorOnly())

Load it with ``appraisal --plugin my_plugin.py run ...`` or publish it with an
``[project.entry-points.appraisal]`` entry.  ``docs/plugins.md`` is the guide.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .hookspecs import hookimpl  # noqa: E402 - __version__ must exist before submodules import it

__all__ = ["__version__", "hookimpl"]
