"""The five papers' spec-level pieces, one module per paper: blocks (schema + shape rule, registered in
`compiler.blocks.BLOCKS`) and objectives (registered in `compiler.catalog.OBJECTIVES`). Their torch lowerings live
in `compiler/lower/<paper>.py`. No module here imports torch: checking a spec stays light.
"""

from compiler.papers import adaftr, hc2, maria, optmsm  # noqa: F401  (registration)
