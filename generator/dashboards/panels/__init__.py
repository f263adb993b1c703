"""One factory per Grafana panel kind, each a thin layer over grafanalib's class.

They fix the choices Vigil makes for every panel of that kind (last value not mean,
legends as tables, no `noValue: none`), so that dashboard modules only say what to
draw. The JSON grafanalib produces is corrected afterwards by modernise.py.
"""
