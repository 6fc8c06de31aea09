"""Declarative business-data tools: HTTP endpoints described in a YAML file per tenant.

``load_tools_file`` reads one file and returns registry tools; the model sees only the
declared parameters (never the customer scope, which comes from the verified customer).
See docs/tools.md for the format.
"""
