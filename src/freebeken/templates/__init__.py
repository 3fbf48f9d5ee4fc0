"""OpenBeken device templates: model, validation, renderings, submission."""

from .model import PinRole, Problem, Template, TemplateSyntaxError, from_entry, load, parse_json, validate

__all__ = ["PinRole", "Problem", "Template", "TemplateSyntaxError", "from_entry", "load", "parse_json", "validate"]
