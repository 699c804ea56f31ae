"""The staff pages show emails and rows as text: every value escaped, email bodies sandboxed."""

from __future__ import annotations

from local.staff_pages import OutboxEmail, _raw_email, outbox_html

RAW = (
    "From: chatbot@example.com\r\n"
    "To: support@example.com\r\n"
    "Reply-To: ana@example.com\r\n"
    "Subject: Escalation T-1\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n'
    "\r\n"
    "<p>Question: &lt;b&gt;hi&lt;/b&gt;</p>\r\n"
)


def test_a_raw_email_is_read_with_its_reply_to() -> None:
    email = _raw_email("id-1", "chatbot@example.com", RAW)
    assert email.reply_to == ["ana@example.com"]
    assert email.to == ["support@example.com"]
    assert email.subject == "Escalation T-1"
    assert "<p>Question:" in email.html


def test_outbox_page_escapes_headers_and_sandboxes_the_body() -> None:
    email = OutboxEmail(
        message_id="m-1",
        sender="chatbot@example.com",
        to=["support@example.com"],
        cc=[],
        reply_to=['"<script>x</script>" <ana@example.com>'],
        subject="<img src=x onerror=alert(1)>",
        html="<p onclick=alert(1)>body</p><script>alert(2)</script>",
        text="",
    )
    page = outbox_html([email])
    assert "<script>x</script>" not in page
    assert "<img src=x" not in page
    assert '<iframe sandbox=""' in page
    # the body travels escaped inside srcdoc: no tag of it is markup of the staff page
    assert "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
