"""`vigil report`: the operations report from live data, as HTML, PDF and e-mail.

One module per job: :mod:`.prometheus` (the HTTP API, with clear errors),
:mod:`.figures` (what the report measures, each a query over the period and the one
before), :mod:`.incidents` (the period's incidents from the incident store, and
MTTR/MTBF computed from them exactly), :mod:`.plots` (matplotlib pictures),
:mod:`.html` (the self-contained page), :mod:`.pdf` (WeasyPrint, from the same
HTML), :mod:`.mail` (the spec's e-mail settings, the `reports:` recipients) and
:mod:`.cli`.
"""
