"""Built-in calibration steps.

``none`` leaves scores as they are; it exists so that ``--calibration none``
can switch off the steps a rubric lists.
"""

from __future__ import annotations

from appraisal import hookimpl
from appraisal.components import Calibration, Calibrator


class NoCalibration(Calibrator):
    name = "none"
    summary = "no adjustment: final scores equal raw scores"

    def calibrate(self, scores, data, options):
        return Calibration(scores=scores.copy(), summary={"adjusted": False})


@hookimpl
def register_calibrators(register):
    register(NoCalibration())
