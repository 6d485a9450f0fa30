"""msdsl: multi-scenario ranking specs → checked, trained, queryable models.

    import msdsl
    program = msdsl.compile("specs/quickstart.msd")   # checked IR + fx programs
    result = msdsl.run("specs/quickstart.msd")        # train, evaluate, store
"""

from msdsl.api import compile, run  # noqa: F401
