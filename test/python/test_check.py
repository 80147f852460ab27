"""check(source): syntax and entry point, without running anything."""

from __future__ import annotations

from pathlib import Path

from conftest import Sandbox
from execfabric_runtime import check

GOOD = "def main(inputs, ctx):\n    return {'ok': True}\n"


def test_accepts_a_valid_script() -> None:
    assert check(GOOD) == {"ok": True}


def test_accepts_main_with_extra_defaulted_parameters() -> None:
    assert check("def main(inputs, ctx, retries=3, *, verbose=False):\n    pass\n") == {"ok": True}


def test_reports_a_syntax_error_with_its_position() -> None:
    result = check("def main(inputs, ctx):\n    return (1 +\n")
    assert result["ok"] is False
    assert result["error"]["line"] == 2
    assert result["error"]["offset"] >= 1
    assert "SyntaxError" in result["error"]["message"]


def test_reports_compile_time_errors_that_parsing_alone_misses() -> None:
    result = check("def main(inputs, ctx):\n    pass\nreturn 5\n")
    assert result["ok"] is False
    assert result["error"]["line"] == 3
    assert "outside function" in result["error"]["message"]


def test_requires_a_top_level_main() -> None:
    result = check("def helper(inputs, ctx):\n    pass\n")
    assert result == {
        "ok": False,
        "error": {"message": "the script must define a top-level function main(inputs, ctx)", "line": None, "offset": None},
    }


def test_a_nested_main_does_not_count() -> None:
    assert check("class Job:\n    def main(self, inputs, ctx):\n        pass\n")["ok"] is False


def test_requires_two_positional_parameters() -> None:
    result = check("x = 1\n\ndef main(inputs):\n    return inputs\n")
    assert result["ok"] is False
    assert result["error"]["line"] == 3
    assert "two positional parameters" in result["error"]["message"]


def test_rejects_async_main_and_extra_required_parameters() -> None:
    assert check("async def main(inputs, ctx):\n    pass\n")["ok"] is False
    assert check("def main(inputs, ctx, extra):\n    pass\n")["ok"] is False
    assert check("def main(inputs, ctx, *, flag):\n    pass\n")["ok"] is False


def test_rejects_null_bytes_and_non_strings() -> None:
    assert check("def main(a, b):\n    pass\n\x00")["ok"] is False
    assert check(None) == {"ok": False, "error": {"message": "source must be a string", "line": None, "offset": None}}


def test_does_not_execute_the_source(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = f"open({str(marker)!r}, 'w').write('x')\ndef main(inputs, ctx):\n    pass\n"
    assert check(source) == {"ok": True}
    assert not marker.exists()


def test_sandboxed_check_gives_the_same_answers(sandbox: Sandbox) -> None:
    assert sandbox.check(GOOD) == {"ok": True}
    assert sandbox.check("def main(:\n") == check("def main(:\n")
    deep = "x = " + "(" * 50_000 + ")" * 50_000 + "\ndef main(a, b):\n    pass\n"
    assert sandbox.check(deep)["ok"] is False
