"""msdsl runtime: data reading and encoding, the synthetic generator, and the DuckDB store (import submodules)."""
