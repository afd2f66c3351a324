"""wpscim's benchmark (run it as `python bench/run.py`; bench/run.py's docstring maps the modules)."""
