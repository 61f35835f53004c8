from pydantic import BaseModel


class Health(BaseModel):
    status: str
{%- if cookiecutter.database != 'none' %}
    database: str
{%- endif %}


class Liveness(BaseModel):
    status: str
