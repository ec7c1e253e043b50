"""Control characters made visible, and the key masked in text that arrives in pieces (tests/conftest.py
forgets remembered keys between tests)."""

from __future__ import annotations

from crazycall.redact import SecretStream, mask_known, mask_url_credentials, redact, remember
from crazycall.render.sanitize import visible, visible_line


def test_every_control_character_but_newline_and_tab_is_made_visible() -> None:
    for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]:
        ch = chr(code)
        shown = visible(f"a{ch}b")
        if ch in "\n\t":
            assert shown == f"a{ch}b"
        else:
            assert shown.startswith("a") and shown.endswith("b") and len(shown) in (3, 4)
            assert all(c.isprintable() for c in shown), (code, shown)


def test_the_visible_forms() -> None:
    assert visible("\x1b]0;title\x07 \x1b[2J") == "␛]0;title␇ ␛[2J"
    assert visible("\x9b31m \x9d0;t") == "␛[31m ␛]0;t"  # C1 shown in its 7-bit form
    assert visible("over\rwrite\x7f") == "over␍write␡"
    assert visible("windows\r\nline\n") == "windows\nline\n"  # CRLF is a line end, not an overwrite
    assert visible("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    assert visible_line("a\nb\tc\r\nd") == "a b c d"


def test_a_key_split_between_pieces_is_masked_and_nothing_is_lost() -> None:
    key = "sk-split-secret-0123"
    remember(key)
    for cut in range(1, len(key)):
        stream = SecretStream()
        pieces = ["before ", key[:cut], key[cut:], " after"]
        shown = [stream.feed(piece) for piece in pieces]
        shown.append(stream.close())
        assert "".join(shown) == "before *** after"
        assert not any(key[: max(cut, 4)] in piece for piece in shown)


def test_without_a_known_secret_nothing_is_held_back() -> None:
    stream = SecretStream()
    assert stream.feed("abc") == "abc"
    assert stream.close() == ""


def test_a_short_key_is_masked_where_it_stands_alone() -> None:
    remember("k3y")
    assert mask_known("the key is k3y.") == "the key is ***."
    assert redact("x k3y") == "x ***"
    assert mask_known("ak3yz") == "ak3yz"  # not inside other words: that would garble everything


def test_credentials_in_a_url_are_masked() -> None:
    assert mask_url_credentials("http://bob:hunter2@127.0.0.1:9/v1") == "http://***@127.0.0.1:9/v1"
    assert mask_url_credentials("https://token@example.test/v1") == "https://***@example.test/v1"
    assert mask_url_credentials("http://127.0.0.1:9/v1/a@b") == "http://127.0.0.1:9/v1/a@b"
    assert (
        redact("failed to reach http://bob:hunter2@host/v1: refused") == "failed to reach http://***@host/v1: refused"
    )


def test_the_start_of_a_key_at_the_end_of_a_growing_text_is_masked() -> None:
    from crazycall.redact import mask_open_end

    key = "sk-growing-secret-42"
    remember(key)
    assert mask_open_end(f"the key is {key[:9]}") == "the key is ***"
    assert mask_open_end(f"the key is {key} ok") == "the key is *** ok"
    assert mask_open_end("ends with sk-") == "ends with sk-"  # too short to be telling


def test_the_live_region_never_shows_the_start_of_a_key() -> None:
    import io

    from rich.console import Console

    from crazycall.events import RunStarted, TextDelta
    from crazycall.render.console import ConsoleRenderer

    key = "sk-live-region-secret-7"
    remember(key)
    out = io.StringIO()
    console = Console(file=out, width=60, height=20, force_terminal=True, color_system=None, _environ={})
    renderer = ConsoleRenderer(console, animate=False)
    renderer(RunStarted("gpt-5.4", "chat", "/v1/chat/completions", ()))
    renderer(TextDelta("The key is " + key[:12]))
    renderer._refresh()
    assert key[:12] not in out.getvalue()
    renderer(TextDelta(key[12:] + "\x1b[2J done"))
    renderer._stop_live()
    renderer._flush()
    assert key[:8] not in out.getvalue() and "\x1b[2J" not in out.getvalue()
