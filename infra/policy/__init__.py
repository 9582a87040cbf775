"""The policy pack of the analytics warehouse (``pulumi preview --policy-pack infra/policy``).

The rules live in ``rules.py`` as plain functions so tests can run them on one resource at a
time; ``__main__.py`` only serves them to the Pulumi CLI.
"""
