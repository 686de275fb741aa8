"""Building mail messages, and the outbox and SMTP transports that send them (no Flask)."""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from debrief.files import atomic_write

logger = logging.getLogger("debrief.mail")

SMTP_TIMEOUT = 10  # seconds; a hung mail server must not hang a request or a cron run
_LINK = re.compile(r"https?://[^\s<>\"']+")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class MailError(Exception):
    """A message could not be sent; str() is a short reason a rep can act on."""


class HeaderInjection(ValueError):
    """A header value held a line break or another control character."""


def check_header(value: str) -> str:
    """Return value unchanged, or raise HeaderInjection if it could break out of its header."""
    # Python 3.11's email package folds whatever it is given, so "x\r\nBcc: y" would become a
    # second header; we refuse every control character and Unicode line/paragraph separator.
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise HeaderInjection(f"header value contains a control character ({ord(char):#04x})")
    return value


def named_sender(mail_from: str, display_name: str) -> str:
    """A From value: display_name (checked) before the address of the DEBRIEF_MAIL_FROM setting."""
    address, name = parseaddr(check_header(mail_from))[1], check_header(display_name)
    try:
        # Address quotes the name as needed (commas, quotes, brackets): never pasted by hand.
        return str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError) as exc:  # the header parser's errors are ValueErrors
        raise ValueError(f"DEBRIEF_MAIL_FROM {mail_from!r} holds no email address") from exc


def _check_unsubscribe(url: str) -> str:
    """A List-Unsubscribe target: one absolute http(s) URL that cannot close its angle brackets."""
    check_header(url)
    if not re.fullmatch(r"https?://[^\s<>,]+", url):
        raise HeaderInjection("List-Unsubscribe needs one http(s) URL without spaces, <, > or ,")
    return url


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    list_unsubscribe: str | None = None,
    domain: str = "localhost",
) -> EmailMessage:
    """A multipart/alternative message (text and HTML) with Date and Message-ID, headers checked."""
    msg = EmailMessage()
    msg["From"] = check_header(sender)
    msg["To"] = check_header(to)
    msg["Subject"] = check_header(subject)
    msg["Date"] = datetime.now(UTC)
    msg["Message-ID"] = make_msgid(domain=check_header(domain))
    if reply_to:
        msg["Reply-To"] = check_header(reply_to)
    if list_unsubscribe:
        # RFC 8058 one-click: mail clients POST to the URL, so no confirmation page is needed.
        msg["List-Unsubscribe"] = f"<{_check_unsubscribe(list_unsubscribe)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name in ("From", "To", "Reply-To"):
        # The header parser records defects instead of raising, so check the result ourselves.
        if name in msg and not _all_addresses(msg[name].addresses):
            raise ValueError(f"{name} is not an email address")
    # Never 8bit: some relays still lack 8BITMIME, and SMTP caps lines at 998 bytes.
    msg.set_content(text, cte=_body_cte(text))
    msg.add_alternative(html, subtype="html", cte=_body_cte(html))
    return msg


class Transport(Protocol):
    """Something that delivers a built message."""

    def send(self, msg: EmailMessage) -> str:
        """Deliver msg; return where it went; raise MailError with a reason on failure."""
        ...


def text_links(msg: EmailMessage) -> list[str]:
    """The http(s) links in the plain-text part of msg."""
    part = msg.get_body(preferencelist=("plain",))
    return _LINK.findall(part.get_content()) if part is not None else []


class OutboxTransport:
    """Writes each message as an .eml file, so the site works with no mail server."""

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = Path(outbox_dir)

    def send(self, msg: EmailMessage) -> str:
        """Write msg to a new .eml file (atomically) and log its path and links."""
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(6)}.eml"
            path = self.outbox_dir / name
            # Written then renamed, so a reader never sees half a message.
            atomic_write(path, msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
        except OSError as exc:
            raise MailError(
                f"Cannot write to the outbox {self.outbox_dir}: {exc.strerror}"
            ) from exc
        logger.info("mail saved to %s; links: %s", path, " ".join(text_links(msg)) or "none")
        return str(path)


class SMTPTransport:
    """Sends through an SMTP server over plain SMTP, STARTTLS or implicit TLS (smtps)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool = False,
        starttls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = SMTP_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.use_ssl = use_ssl
        self.starttls = starttls
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout

    def __repr__(self) -> str:
        # Never show the password: transports end up in logs and tracebacks.
        user = f"{self.username}:***@" if self.username else ""
        scheme = "smtps" if self.use_ssl else "smtp"
        return f"<SMTPTransport {scheme}://{user}{self.host}:{self.port}>"

    @classmethod
    def from_url(cls, url: str, *, ssl_context: ssl.SSLContext | None = None) -> SMTPTransport:
        """A transport from smtp://user:pass@host:port?starttls=1 or smtps://user:pass@host:port."""
        parts = urlsplit(url)
        shown = _redact(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"mail URL {shown!r} must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError(f"mail URL {shown!r} has no host name")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                f"mail URL {shown!r} has a port that is not a number 1-65535"
            ) from None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(query) - {"starttls"}
        if unknown:
            raise ValueError(f"mail URL {shown!r}: unknown option(s) {', '.join(sorted(unknown))}")
        flag = query.get("starttls", "").lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError(f"mail URL {shown!r}: starttls must be 1 or 0")
        use_ssl, starttls = parts.scheme == "smtps", flag in _TRUE
        if use_ssl and starttls:
            raise ValueError(f"mail URL {shown!r}: smtps:// is already TLS; drop ?starttls=1")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if username and not (use_ssl or starttls or _is_loopback(parts.hostname)):
            raise ValueError(
                f"mail URL {shown!r} would send the password in clear: "
                "use smtps:// or add ?starttls=1"
            )
        default_port = 465 if use_ssl else (587 if starttls else 25)
        return cls(
            parts.hostname,
            port or default_port,
            username=username,
            password=password,
            use_ssl=use_ssl,
            starttls=starttls,
            ssl_context=ssl_context,
        )

    def _connect(self) -> smtplib.SMTP:
        """An open, (if asked) encrypted and signed-in connection."""
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=self.ssl_context)
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage) -> str:
        """Send msg; return the server and recipients; raise MailError with the server's reason."""
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise MailError(f"Recipient rejected: {code} {_text(reply)}") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise MailError(f"Sender rejected: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"Sign-in to {where} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPConnectError as exc:
            raise MailError(
                f"{where} refused the connection: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailError(
                f"{where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"{where} does not support {exc}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps read timeouts
                raise MailError(f"No answer from {where} within {self.timeout:g} s") from exc
            raise MailError(f"Connection closed by {where}: {exc or 'no reason given'}") from exc
        except smtplib.SMTPException as exc:
            raise MailError(f"Mail server {where} error: {exc}") from exc
        except ssl.SSLError as exc:
            raise MailError(f"TLS with {where} failed: {exc.reason or exc}") from exc
        except ConnectionRefusedError as exc:
            raise MailError(f"Connection refused by {where}") from exc
        except socket.gaierror as exc:
            raise MailError(f"Unknown mail server host {self.host}") from exc
        except TimeoutError as exc:
            raise MailError(f"No answer from {where} within {self.timeout:g} s") from exc
        except OSError as exc:
            raise MailError(f"Cannot reach {where}: {exc.strerror or exc}") from exc
        if refused:  # some, not all, recipients were refused: the message still went out
            logger.warning("%s refused %s", where, ", ".join(refused))
        return f"{where} accepted the message for {msg['To']}"


def transport(config: Mapping[str, Any]) -> Transport:
    """The app's transport: the one DEBRIEF_MAIL_URL names, the outbox in the data folder."""
    return transport_from_url(config["MAIL_URL"], Path(config["DATA_DIR"]) / "outbox")


def transport_from_url(url: str, outbox_dir: Path) -> Transport:
    """The transport DEBRIEF_MAIL_URL names: 'outbox' (the default), smtp:// or smtps://."""
    url = (url or "outbox").strip()
    if url == "outbox":
        return OutboxTransport(outbox_dir)
    if urlsplit(url).scheme in ("smtp", "smtps"):
        return SMTPTransport.from_url(url)
    raise ValueError(
        f"DEBRIEF_MAIL_URL {_redact(url)!r} is not 'outbox', smtp://user:pass@host:port "
        "(?starttls=1) or smtps://user:pass@host:port"
    )


def _redact(url: str) -> str:
    """url with its password replaced, safe for error messages and logs."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _body_cte(body: str) -> str:
    """7bit for short-lined ASCII, else quoted-printable (safe for any relay and line length)."""
    short = all(len(line) <= 78 for line in body.splitlines())
    return "7bit" if body.isascii() and short else "quoted-printable"


def _all_addresses(addresses: tuple) -> bool:
    """True if there is at least one address and each has a local part and a domain."""
    return bool(addresses) and all(a.username and a.domain for a in addresses)


def _is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where a clear-text password never leaves."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(reply: bytes | str) -> str:
    """An SMTP reply as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
