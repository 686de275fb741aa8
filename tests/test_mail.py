"""Mail: message building, header checks, the outbox, and SMTP against a real local server."""

import email
import email.policy
import logging
import socket
import ssl
import subprocess
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import free_port, run_smtp_server

from debrief.mail import (
    HeaderInjection,
    MailError,
    OutboxTransport,
    SMTPTransport,
    build_message,
    check_header,
    named_sender,
    transport_from_url,
)

USER, PASSWORD = "mailer@example.com", "s3cret:/@pass"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Accept only USER/PASSWORD."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd then replies 535


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI: (cert, key) paths."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(cert) -> ssl.SSLContext:
    """The server side of TLS with the self-signed certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    return context


@pytest.fixture
def client_tls(cert) -> ssl.SSLContext:
    """A client context that trusts only the self-signed certificate (hostname checked)."""
    return ssl.create_default_context(cafile=str(cert[0]))


@pytest.fixture
def starttls_server(server_tls):
    """An SMTP server that requires STARTTLS and then AUTH: (port, handler)."""
    controller, handler = run_smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    yield controller.port, handler
    controller.stop()


def message(**overrides) -> EmailMessage:
    """A message with sensible defaults, some fields overridden."""
    fields = {
        "sender": "Débrief Team <noreply@debrief.example>",
        "to": "Zoë Ünal <zoe@example.com>",
        "subject": "Pourquoi pas nous ? Une question honnête ✓",
        "text": "Bonjour Zoë,\nhttps://debrief.example/s/tok123\nMerci — l'équipe",
        "html": "<p>Bonjour Zoë, <a href='https://debrief.example/s/tok123'>répondre</a></p>",
    }
    return build_message(**(fields | overrides))


def test_smtp_delivers_a_multipart_message_with_unicode_intact(smtp_server):
    port, handler = smtp_server
    result = SMTPTransport("127.0.0.1", port).send(message())
    assert f"127.0.0.1:{port}" in result
    assert handler.envelopes[0].mail_from == "noreply@debrief.example"
    assert handler.envelopes[0].rcpt_tos == ["zoe@example.com"]
    got = handler.received()
    assert got.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in got.iter_parts()] == ["text/plain", "text/html"]
    assert got["Subject"] == "Pourquoi pas nous ? Une question honnête ✓"
    assert got["To"].addresses[0].display_name == "Zoë Ünal"
    assert got["From"].addresses[0].display_name == "Débrief Team"
    assert "Bonjour Zoë" in got.get_body(("plain",)).get_content()
    assert "répondre" in got.get_body(("html",)).get_content()
    assert got["Date"].datetime is not None
    assert got["Message-ID"].startswith("<") and got["Message-ID"].endswith("@localhost>")


def test_message_ids_are_unique_and_use_the_domain():
    ids = {message(domain="debrief.example")["Message-ID"] for _ in range(50)}
    assert len(ids) == 50
    assert all(i.endswith("@debrief.example>") for i in ids)


def test_unsubscribe_and_reply_to_headers():
    msg = message(reply_to="rep@example.com", list_unsubscribe="https://d.example/s/t/optout")
    assert msg["List-Unsubscribe"] == "<https://d.example/s/t/optout>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Reply-To"] == "rep@example.com"
    plain = message()
    assert "List-Unsubscribe" not in plain and "Reply-To" not in plain


@pytest.mark.parametrize("bad", ["a\r\nBcc: x@y", "\n", "\x00", "a\rb", "x\u2028y", "\x85"])
@pytest.mark.parametrize(
    "header", ["sender", "to", "subject", "reply_to", "list_unsubscribe", "domain"]
)
def test_header_injection_is_refused_in_every_header(header, bad):
    valid = {
        "sender": "a@example.com",
        "to": "b@example.com",
        "subject": "Hi",
        "reply_to": "c@example.com",
        "list_unsubscribe": "https://d.example/u",
        "domain": "d.example",
    }
    with pytest.raises(HeaderInjection):
        message(**(valid | {header: valid[header] + bad}))


@pytest.mark.parametrize("url", ["https://a.example/u> <https://evil.example", "javascript:x"])
def test_unsubscribe_must_be_one_http_url(url):
    with pytest.raises(HeaderInjection):
        message(list_unsubscribe=url)


def test_check_header_returns_ordinary_text_unchanged():
    value = "Zoë — « pourquoi » ✓ tabs\tare not fine"
    with pytest.raises(HeaderInjection):
        check_header(value)
    assert check_header("Zoë — « pourquoi » ✓") == "Zoë — « pourquoi » ✓"


@pytest.mark.parametrize(
    ("field_name", "bad"),
    [(name, bad) for name in ("sender", "to") for bad in ("", "not an address", "Zoë <zoe@>")]
    + [("reply_to", "not an address"), ("reply_to", "Zoë <zoe@>")],  # "" means no Reply-To
)
def test_addresses_must_be_addresses(field_name, bad):
    with pytest.raises(ValueError, match="not an email address"):
        message(**{field_name: bad})


@pytest.mark.parametrize(
    "name", ["Rita Rep at Harbourline", 'Zoë "Z" Ünal at Smith, Jones & Co (Nord)', "a<b>@c.d"]
)
def test_a_named_sender_keeps_the_settings_address_and_any_display_name(smtp_server, name):
    port, handler = smtp_server
    sender = named_sender("Debrief <debrief@mail.example>", name)
    SMTPTransport("127.0.0.1", port).send(message(sender=sender))
    [address] = handler.received()["From"].addresses
    assert (address.display_name, address.addr_spec) == (name, "debrief@mail.example")
    assert handler.envelopes[0].mail_from == "debrief@mail.example"


@pytest.mark.parametrize("bad", ["Rita\r\nBcc: x@evil.example", "Rita\n", "R\x00", "x\u2028y"])
def test_a_named_sender_refuses_line_breaks_and_control_characters(bad):
    with pytest.raises(HeaderInjection):
        named_sender("debrief@mail.example", bad)


@pytest.mark.parametrize("setting", ["", "not an address", "Debrief <debrief@>"])
def test_a_named_sender_needs_an_address_in_the_setting(setting):
    with pytest.raises(ValueError, match="DEBRIEF_MAIL_FROM"):
        named_sender(setting, "Rita Rep at Harbourline")


def test_outbox_writes_parseable_eml_and_logs_path_and_links(tmp_path, caplog):
    outbox = OutboxTransport(tmp_path / "outbox")
    with caplog.at_level(logging.INFO, logger="debrief.mail"):
        first = outbox.send(message())
        second = outbox.send(message(subject="Second"))
    files = sorted((tmp_path / "outbox").iterdir())
    assert [str(f) for f in files] == sorted([first, second])  # no temp files left behind
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] in {"Second", "Pourquoi pas nous ? Une question honnête ✓"}
    assert "Bonjour Zoë" in parsed.get_body(("plain",)).get_content()
    assert first in caplog.text and "https://debrief.example/s/tok123" in caplog.text


def test_outbox_that_cannot_be_written_is_a_mail_error(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(MailError, match="Cannot write to the outbox"):
        OutboxTransport(blocker).send(message())


def test_server_down_is_a_mail_error_with_the_reason():
    port = free_port()
    with pytest.raises(MailError) as caught:
        SMTPTransport("127.0.0.1", port).send(message())
    assert str(caught.value) == f"Connection refused by 127.0.0.1:{port}"


def test_rejected_recipient_is_a_mail_error_with_the_reply(smtp_server):
    port, handler = smtp_server
    with pytest.raises(MailError) as caught:
        SMTPTransport("127.0.0.1", port).send(message(to="reject@example.com"))
    assert str(caught.value) == "Recipient rejected: 550 5.1.1 No such user here"
    assert handler.envelopes == []


def test_silent_server_times_out_with_a_mail_error():
    with socket.socket() as listener:  # accepts connections but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(MailError, match=f"No answer from 127.0.0.1:{port} within 0.3 s"):
            SMTPTransport("127.0.0.1", port, timeout=0.3).send(message())


def test_starttls_and_auth_deliver(starttls_server, client_tls):
    port, handler = starttls_server
    url = f"smtp://mailer%40example.com:s3cret%3A%2F%40pass@127.0.0.1:{port}?starttls=1"
    SMTPTransport.from_url(url, ssl_context=client_tls).send(message())
    assert handler.received()["To"].addresses[0].username == "zoe"


def test_wrong_password_is_a_mail_error(starttls_server, client_tls):
    port, _ = starttls_server
    transport = SMTPTransport(
        "127.0.0.1", port, username=USER, password="wrong", starttls=True, ssl_context=client_tls
    )
    with pytest.raises(MailError, match=r"^Sign-in to 127.0.0.1:\d+ refused: 535"):
        transport.send(message())


def test_untrusted_certificate_is_a_mail_error(starttls_server):
    port, handler = starttls_server
    transport = SMTPTransport("127.0.0.1", port, username=USER, password=PASSWORD, starttls=True)
    with pytest.raises(MailError, match="TLS with 127.0.0.1:.* failed: CERTIFICATE_VERIFY_FAILED"):
        transport.send(message())
    assert handler.envelopes == []


def test_server_that_requires_starttls_refuses_plain_mail(starttls_server):
    port, _ = starttls_server
    with pytest.raises(MailError, match="530"):
        SMTPTransport("127.0.0.1", port).send(message())


def test_smtps_delivers(server_tls, client_tls):
    controller, handler = run_smtp_server(ssl_context=server_tls)
    try:
        transport = SMTPTransport.from_url(
            f"smtps://127.0.0.1:{controller.port}", ssl_context=client_tls
        )
        transport.send(message())
    finally:
        controller.stop()
    assert handler.received()["Subject"].startswith("Pourquoi")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("mail.example", 25, None, None, False, False)),
        ("smtp://u:p@mail.example:2525?starttls=1", ("mail.example", 2525, "u", "p", False, True)),
        ("smtp://a%40b.c:p%2F%40@m.example?starttls=yes", ("m.example", 587, "a@b.c", "p/@", 0, 1)),
        ("smtps://u:p@m.example", ("m.example", 465, "u", "p", True, False)),
        ("smtp://u:p@127.0.0.1:1025", ("127.0.0.1", 1025, "u", "p", False, False)),
    ],
)  # fmt: skip
def test_smtp_urls_are_parsed(url, expected):
    t = SMTPTransport.from_url(url)
    assert (t.host, t.port, t.username, t._password, t.use_ssl, t.starttls) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("smtp://", "no host name"),
        ("smtp://u:hunter2@m.example:99999", "port"),
        ("smtp://u:hunter2@m.example:abc", "port"),
        ("smtp://u:hunter2@m.example?tls=1", "unknown option"),
        ("smtp://u:hunter2@m.example?starttls=maybe", "starttls must be"),
        ("smtps://u:hunter2@m.example?starttls=1", "already TLS"),
        ("smtp://u:hunter2@m.example", "password in clear"),
        ("ftp://u:hunter2@m.example", "is not 'outbox'"),
        ("sendmail", "is not 'outbox'"),
    ],
)
def test_bad_mail_urls_say_why_without_showing_the_password(tmp_path, url, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        transport_from_url(url, tmp_path)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["outbox", "", " outbox "])
def test_outbox_is_the_default_transport(tmp_path, url):
    transport = transport_from_url(url, tmp_path / "outbox")
    assert isinstance(transport, OutboxTransport)
    assert transport.outbox_dir == tmp_path / "outbox"


def test_transport_repr_hides_the_password(tmp_path):
    transport = transport_from_url("smtps://u:hunter2@m.example", tmp_path)
    assert isinstance(transport, SMTPTransport)
    assert "hunter2" not in repr(transport) and "m.example:465" in repr(transport)
