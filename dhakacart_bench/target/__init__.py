"""The target: the bundled reference store as a managed process.

Its settings and the commands that seed, serve and verify it
(:mod:`~dhakacart_bench.target.commands`), the managed gunicorn process
(:mod:`~dhakacart_bench.target.process`) and direct database work for ``bench store``
(:mod:`~dhakacart_bench.target.database`). Everything heavy (flask, sqlalchemy, psycopg)
lives in the store's own processes or inside functions.
"""
