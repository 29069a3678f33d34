"""Applying: identifying the citizen, the form, materials, pre-flight, sealing and receipts."""
