"""Built-in plugins, installed as ``appraisal_plugins``.

Each module is an ordinary pluggy plugin registered through the same hooks as
third-party plugins.  This package is not a namespace for other projects:
publish your own plugin through the ``appraisal`` entry-point group.
"""
