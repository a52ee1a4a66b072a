"""Statistics: pure maths on plain inputs, no I/O.

HDR histogram helpers and the one percentile implementation
(:mod:`~dhakacart_bench.stats.hdr`), blocks of windows for resampling
(:mod:`~dhakacart_bench.stats.blocks`), the bootstrap of the gate
(:mod:`~dhakacart_bench.stats.bootstrap`), the Universal Scalability Law
(:mod:`~dhakacart_bench.stats.usl`), and reliability maths
(:mod:`~dhakacart_bench.stats.availability`, :mod:`~dhakacart_bench.stats.recovery`).
Each is tested on synthetic inputs with known answers.
"""
