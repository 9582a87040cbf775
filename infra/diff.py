"""``python -m infra diff --stack S [--base REF] [--markdown]``: what a change does to a stack.

Renders the stack at a git ref (default: the merge base with main) and at the working tree, each
with its own code (``infra.diff_sources``), and reports the resources added, removed and changed
(inputs before → after, secrets masked), whether each change replaces or updates in place (the
package's reading of the providers, ``infra.diff_replace``), the protected resources touched, the
stack outputs that changed, and the schema changes with the schema module's evolution report.

A change is breaking, and the command exits 1, when the schema change is breaking, when a
protected resource would be deleted or replaced, or when the working tree no longer renders.
Errors running the diff itself (not a git repository, unknown ref) exit 2.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from infra.diff_changes import InputChange, ResourceChange, output_changes, resource_changes
from infra.diff_sources import (
    DEFAULT_BRANCH,
    DiffError,
    Side,
    default_base,
    render_ref,
    render_tree,
    repository_root,
)
from schema.evolution import SchemaDiff, diff_snapshots

WORKING_TREE = "working tree"


@dataclass(frozen=True)
class StackDiff:
    stack: str
    base: Side
    head: Side
    resources: list[ResourceChange]
    outputs: list[InputChange]
    schema: SchemaDiff

    @property
    def protected_touched(self) -> list[ResourceChange]:
        return [change for change in self.resources if change.protected]

    @property
    def breaking(self) -> list[str]:
        """Why this change must not ship as is; empty when it may."""
        reasons = [f"breaking schema change: {delta.describe()}" for delta in self.schema.breaking]
        verbs = {"remove": "deleted", "replace": "replaced"}
        reasons += [
            f"protected {change.ref} would be {verbs[change.kind]}"
            for change in self.protected_touched
            if change.kind in verbs
        ]
        if self.head.failure is not None:
            reasons.append(f"the {WORKING_TREE} does not render stack {self.stack}")
        return reasons


def compare(stack: str, base: Side, head: Side) -> StackDiff:
    empty: dict[str, list[object]] = {"resources": [], "outputs": []}
    before = base.render
    after = head.render if head.render is not None else empty
    return StackDiff(
        stack=stack,
        base=base,
        head=head,
        resources=resource_changes(before, after) if head.failure is None else [],
        outputs=output_changes(before, after) if head.failure is None else [],
        schema=diff_snapshots(base.schema, head.schema),
    )


def diff(stack: str, base_ref: str | None = None, start: Path | None = None) -> StackDiff:
    """Render ``stack`` at ``base_ref`` (default: merge base with main) and at the working tree."""
    root = repository_root(start or Path.cwd())
    ref = base_ref or default_base(root)
    label = None if base_ref else f"merge base with {DEFAULT_BRANCH}"
    # Both sides render in their own processes; running them side by side halves the wait.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending_base = pool.submit(render_ref, root, ref, stack, label)
        head = render_tree(root, stack, WORKING_TREE)
        base = pending_base.result()
    if base.failure is not None:
        raise DiffError(f"the base {base.label} does not render stack {stack}:\n{base.failure}")
    return compare(stack, base, head)
