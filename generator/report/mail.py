"""Mailing the report through the spec's `email` settings to a `reports:` entry's recipients.

The same SMTP server, sender and credentials Alertmanager uses (`email:`), so one
place holds them; the password is read from its `{env: ...}`/`{file: ...}` reference
at send time and never printed. STARTTLS is required when `require_tls` is set.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from generator.model import Report as SpecReport
from generator.model import Secret, Spec
from generator.report.prometheus import ReportError


def recipients(spec: Spec, report: SpecReport) -> list[str]:
    addresses = []
    for name in report.recipients:
        address = spec.receivers[name].integrations.get("email", {}).get("to")
        if isinstance(address, str) and address not in addresses:
            addresses.append(address)
    return addresses


def _password(secret: Secret | None) -> str | None:
    if secret is None:
        return None
    from exporters.common.secrets import SecretError, resolve_secret

    try:
        return resolve_secret({"env": secret.env} if secret.env else {"file": secret.file})
    except SecretError as exc:
        raise ReportError(f"e-mail password: {exc}") from None


def send(spec: Spec, report: SpecReport, subject: str, text: str, html: str,
         pdf: Path | None) -> list[str]:
    """Send it; returns the addresses. Raises ReportError with a one-line reason."""
    settings = spec.email
    if settings is None:
        raise ReportError("--mail needs the spec's `email` section (smarthost, from)")
    to = recipients(spec, report)
    if not to:
        raise ReportError(f"reports.{report.name} has no recipient with an e-mail address")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.sender, ", ".join(to)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if pdf is not None:
        message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                               filename=pdf.name)
    host, _, port = settings.smarthost.rpartition(":")
    try:
        with smtplib.SMTP(host, int(port), timeout=30) as smtp:
            if settings.require_tls:
                smtp.starttls(context=ssl.create_default_context())
            password = _password(settings.password)
            if settings.username and password is not None:
                smtp.login(settings.username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ReportError(f"cannot send the report through {settings.smarthost}: "
                          f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return to
