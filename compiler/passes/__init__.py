"""The compiler passes, in the order they run. Each is one file with `run(ir, report)`.

A pass reports every problem it finds; the pipeline stops after the first pass that reported errors, since
later passes rely on earlier ones (types need names, routes need types).
"""

from compiler.passes import (
    bind_params,
    check_acyclic,
    check_partitions,
    check_roles,
    check_routes,
    infer_shapes,
    resolve_names,
)

PASSES = [bind_params, resolve_names, check_acyclic, infer_shapes, check_partitions, check_roles, check_routes]
