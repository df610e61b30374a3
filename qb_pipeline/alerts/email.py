"""The digest as an email: one message per subscriber and run, over SMTP (QBP_SMTP_*).

The message lists every change the subscriber's email subscriptions cover, in plain text. Its
`X-QBP-Delivery` header is the delivery key, the same on every attempt. It carries goal names
and figures only; the SMTP password is used to log in and appears nowhere else.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from qb_pipeline.alerts.changes import Change
from qb_pipeline.alerts.deliveries import GAVE_UP, OK, RETRY, AttemptResult
from qb_pipeline.config import SmtpSettings

NOT_CONFIGURED = "email is not configured: set QBP_SMTP_HOST (and QBP_SMTP_FROM)"


def message(
    sender: str,
    to: str,
    org_name: str,
    org_slug: str,
    delivery_key: str,
    changes: Sequence[Change],
) -> EmailMessage:
    count = len(changes)
    subject = f"[{org_name}] {count} goal {'change' if count == 1 else 'changes'}"
    lines = [
        f"The last sync of {org_name} ({org_slug}) changed {count} of the goals you follow:",
        "",
        *(f"- {c.describe()}" + _figures(c) for c in changes),
        "",
        "You get this because you subscribed to these goals' alerts in qb-goals.",
        f"Manage your subscriptions on the Alerts page of qb-goals (/orgs/{org_slug}/alerts) or "
        f"with: qb-pipeline alerts list --org {org_slug} --as {to}",
    ]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["X-QBP-Delivery"] = delivery_key
    mail.set_content("\n".join(lines) + "\n")
    return mail


def _figures(change: Change) -> str:
    if change.actual is None and change.target is None:
        return ""
    actual = "none" if change.actual is None else f"{change.actual:,.2f}"
    target = "none" if change.target is None else f"{change.target:,.2f}"
    return f" — actual {actual}, target {target}"


def send_once(smtp: SmtpSettings | None, mail: EmailMessage, timeout: float) -> AttemptResult:
    """One SMTP transaction: ok when the server accepts; retry on a 4xx reply or a network
    error; failed on a 5xx reply (the server refuses it for good), on a server that lacks
    what the settings ask for (STARTTLS, AUTH), an untrusted certificate or no configuration.

    With QBP_SMTP_STARTTLS the session is encrypted before anything else is sent, and a
    server that cannot upgrade gets no login: the password never travels in clear text."""
    if smtp is None:
        return AttemptResult(GAVE_UP, None, NOT_CONFIGURED)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                try:
                    client.login(smtp.user, smtp.password or "")
                except smtplib.SMTPAuthenticationError as error:
                    return _by_code(
                        error.smtp_code,
                        f"{_reply(error)} (login as QBP_SMTP_USER {smtp.user!r} refused: check "
                        "QBP_SMTP_USER and QBP_SMTP_PASSWORD)",
                        smtp,
                    )
            refused = client.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return _by_code(min(codes) if codes else None, "the server refused the recipient", smtp)
    except smtplib.SMTPResponseException as error:
        return _by_code(error.smtp_code, _reply(error), smtp)
    except smtplib.SMTPNotSupportedError as error:
        # Asked for STARTTLS or a login the server does not offer (many offer AUTH only
        # after STARTTLS): a setting to fix, not a moment to wait out.
        return AttemptResult(GAVE_UP, None, _scrub(f"{error} ({_asked(smtp)})", smtp))
    except ssl.SSLCertVerificationError as error:
        return AttemptResult(
            GAVE_UP,
            None,
            _scrub(
                f"the mail server's certificate is not trusted ({error.verify_message}); "
                "nothing was sent, no login attempted",
                smtp,
            ),
        )
    except (smtplib.SMTPException, OSError) as error:  # TimeoutError is an OSError
        return AttemptResult(RETRY, None, _scrub(f"{type(error).__name__}: {error}", smtp)[:300])
    if refused:
        return _by_code(None, "the server refused the recipient", smtp)
    return AttemptResult(OK, 250)


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = (
        error.smtp_error.decode("utf-8", "replace")
        if isinstance(error.smtp_error, bytes)
        else str(error.smtp_error)
    )
    return text.splitlines()[0][:300] if text else ""


def _asked(smtp: SmtpSettings) -> str:
    starttls = "QBP_SMTP_STARTTLS=true" if smtp.starttls else "QBP_SMTP_STARTTLS=false"
    login = f"QBP_SMTP_USER {smtp.user!r}" if smtp.user else "no login"
    return f"{smtp.host}:{smtp.port} with {starttls}, {login}"


def _scrub(text: str, smtp: SmtpSettings) -> str:
    """The text without the password, as typed or base64-encoded the ways AUTH sends it, in
    case a server repeats what it was sent in its reply."""
    if not smtp.password:
        return text
    user, password = smtp.user or "", smtp.password
    for secret in (
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
    ):
        text = text.replace(secret, "***")
    return text


def _by_code(code: int | None, text: str, smtp: SmtpSettings) -> AttemptResult:
    text = _scrub(text, smtp)
    reason = f"SMTP {code} {text}".strip() if code else text
    if code is not None and 400 <= code < 500:
        return AttemptResult(RETRY, code, reason)
    return AttemptResult(GAVE_UP, code, reason)
