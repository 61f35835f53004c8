"""Flask or FastAPI? Measured. The benchmark of the two templates (see benchmarks/README.md):
``python -m benchmarks`` (or ``python benchmarks/run.py``) runs it."""
