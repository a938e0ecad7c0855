"""Tables, the engine, migrations and the repository. Importing any of it registers every table (a
request refers to its batch, a batch row to its request), so foreign keys resolve whichever is used first."""

from storage import batch_models, job_models, models  # noqa: F401
