import io
import json
import logging

from bot import logs


def test_lines_are_json_with_the_delivery_context():
    stream = io.StringIO()
    logs.configure(stream=stream)
    logger = logging.getLogger("bot.test")
    with logs.log_context(delivery_id="d-1", event="push", installation=7, repository="o/r"):
        logger.info("hello", extra={"pull_request": 3})
    logger.info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "hello" and first["pull_request"] == 3
    assert (first["delivery_id"], first["event"], first["installation"], first["repository"]) == (
        "d-1",
        "push",
        7,
        "o/r",
    )
    assert "delivery_id" not in second


def test_secrets_never_reach_a_line():
    stream = io.StringIO()
    logs.configure(stream=stream)
    logging.getLogger("bot.test").warning(
        "leak %s %s %s",
        "ghs_0123456789abcdefghijABCDEFGHIJ",
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    )
    text = stream.getvalue()
    assert "ghs_" not in text and "eyJ" not in text and "MIIE" not in text
    assert text.count("[redacted]") == 3
