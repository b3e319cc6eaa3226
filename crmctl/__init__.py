"""crmctl: customer-relationship management driven by per-company policy files."""

__version__ = "0.11.0"
