"""`stoker template validate`: the same request parts as stack create, sent to POST /validate."""
from cli.operator.stack import register_template as register

__all__ = ["register"]
