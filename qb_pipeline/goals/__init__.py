"""QuickBooks Goals: definitions, the goal store, validation and computation (data in, data out).

- definition.py: the pydantic model of a goal (a file, a form, an API body); schema.py
  publishes it as JSON Schema; rules.py relates its fields; formula.py parses formulas.
- loader.py: YAML files and folders -> goals, with every problem located (problems.py).
- store.py: the goal store in the control DB (versions, archive, restore); apply.py and
  plan.py bring goal files into it; editing.py builds changes from the app and the CLI.
- validate.py: checks against the connected company's imported data (catalog.py).
- periods.py: fiscal months, quarters, years and their windows.
- compute.py (+ marts.py, lines.py, sql/): all goals of an organization in one DuckDB pass;
  values.py reads the values back for the web app, the API and the CLI.

The `qb-pipeline goals` commands are in qb_pipeline/cli/goals.py.
"""
