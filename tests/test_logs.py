"""Logging: every detail in the rule's log file, a readable console (colorcnn.logs)."""

from __future__ import annotations

import logging

from colorcnn.logs import setup_logging


def test_debug_goes_to_the_file_and_info_to_the_console(tmp_path, capfd):
    try:
        setup_logging(tmp_path / "logs" / "rule.log")
        log = logging.getLogger("colorcnn.test")
        log.debug("per-file detail")
        log.info("a summary line")
        logging.getLogger("PIL").info("noise from a library")
        for h in logging.getLogger().handlers:
            h.flush()
        text = (tmp_path / "logs" / "rule.log").read_text()
        assert "per-file detail" in text and "a summary line" in text
        assert "noise from a library" not in text
        err = capfd.readouterr().err
        assert "a summary line" in err and "per-file detail" not in err
    finally:
        for h in logging.getLogger().handlers[:]:
            logging.getLogger().removeHandler(h)
            h.close()


def test_a_name_that_is_not_utf8_is_logged_readably(tmp_path):
    import logging
    import os

    from colorcnn.logs import setup_logging

    setup_logging(tmp_path / "rule.log")
    logging.getLogger("t").warning("skipped %s", os.fsdecode(b"caf\xe9.jpg"))
    logging.shutdown()
    assert "skipped caf\\udce9.jpg" in (tmp_path / "rule.log").read_text()
