"""Free text made inert in Go templates.

Prometheus expands alerting rules' annotations and labels as Go templates, and
Alertmanager expands some receiver fields (a Slack channel, an e-mail address) the
same way, so a title such as `{{ printf "x" }}` written into either would run. Every
piece of spec text that lands in a templated field goes through `literal`, which
writes each `{` as the template action `{{ "{" }}`: whatever follows, no action can
start inside the text, and the rendered result is the text exactly as written.
Escaping every brace, not only `{{`, keeps the text inert when it is joined to a
template placeholder (`{` followed by `{{ $value }}`).
"""

from __future__ import annotations

OPEN_BRACE = '{{ "{" }}'


def literal(text: str) -> str:
    """`text` as Go template source that renders to exactly `text`."""
    return text.replace("{", OPEN_BRACE)


def verbatim(text: str) -> str:
    """The identity, for callers that build the rendered text instead of the template."""
    return text
