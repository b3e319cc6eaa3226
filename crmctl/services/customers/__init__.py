"""Customers: files, admission, reading, contacts and imports (one module each)."""

from __future__ import annotations

from .admission import approve, disqualify, reinstate, submit, waiting_for
from .contacts import NOTE_CHANNELS, add_contact, add_note, contact_coverage
from .reading import (CustomerQuery, chain_state, customer_dict, customer_fields, export_customers,
                      list_customers, resolve_grade)
from .importing import import_customers
from .records import add_customer, edit_customer, next_codes, set_initial_grades, snapshot, validate_new

__all__ = [
    "CustomerQuery", "NOTE_CHANNELS", "add_contact", "add_customer", "add_note", "approve", "chain_state",
    "contact_coverage", "customer_dict", "customer_fields", "disqualify", "edit_customer", "export_customers",
    "import_customers", "list_customers", "next_codes", "reinstate", "resolve_grade", "set_initial_grades",
    "snapshot", "submit", "validate_new", "waiting_for",
]
