"""The {{ cookiecutter.project_name }} package."""
