"""Reports: the self-contained HTML report, the comparison page and the terminal summary.

Build a plain dict first (:mod:`~dhakacart_bench.report.context`, with the section
contexts of :mod:`~dhakacart_bench.report.sections` and the SVG charts of
:mod:`~dhakacart_bench.report.charts`), render it second
(:mod:`~dhakacart_bench.report.render`) with the package's jinja2 templates.
"""
