"""QuickBooks Goals: definitions (goal_models/), validation and computation.

- model.py: the pydantic model of a goal file; schema.py publishes it as JSON Schema.
- loader.py: YAML files and folders -> goals, with every problem located.
- validate.py: checks against the connected company's imported data (catalog.py).
- periods.py: fiscal months, quarters, years and their windows.
- compute.py (+ plan.py, sql/): all goals of an organization in one DuckDB pass.
- cli.py, commands.py: `qb-pipeline goals validate|create|schema`.
"""
