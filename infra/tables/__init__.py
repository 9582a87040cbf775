"""How the four tables are declared in each warehouse: one module per warehouse, the same shape.

Each module exposes a ``Target`` (what its tables need from the warehouse container) and
``declare(spec, target, opts)``, which declares one ``schema.TableSpec``. The modules never
import each other, and each imports its provider SDK itself, so a stack only loads the SDK of the
warehouse it uses.
"""
