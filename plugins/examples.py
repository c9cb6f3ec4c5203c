"""The generic example profile for ``appraisal init`` (``--profile contoh``, the default)."""

from __future__ import annotations

from appraisal import hookimpl
from appraisal.components import Example
from appraisal.examples import write_example


class Contoh(Example):
    name = "contoh"
    summary = "a generic 360 appraisal: 24 employees, supervisor, peers, subordinates and self"

    def write(self, target):
        return write_example(target)


@hookimpl
def register_examples(register):
    register(Contoh())
