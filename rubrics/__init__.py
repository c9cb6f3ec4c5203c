"""Built-in rubrics, installed as package data of ``appraisal_rubrics``.

Use them by name, e.g. ``appraisal run --rubric contoh-360``.
"""
