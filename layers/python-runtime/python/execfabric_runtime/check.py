"""Static check of a script upload: it must compile and define a top-level `main(inputs, ctx)`.

Nothing of the source runs: `compile()` only parses and builds a code object, and the entry point is
found by walking the syntax tree."""

from __future__ import annotations

import ast
from typing import Any, TypedDict

SCRIPT_FILENAME = "script.py"
MAX_SOURCE_BYTES = 1024 * 1024


class CheckError(TypedDict):
    message: str
    line: int | None
    offset: int | None


def _failure(message: str, line: int | None = None, offset: int | None = None) -> dict[str, Any]:
    error: CheckError = {"message": message, "line": line, "offset": offset}
    return {"ok": False, "error": error}


def _positional_count(args: ast.arguments) -> int:
    return len(args.posonlyargs) + len(args.args)


def check(source: object) -> dict[str, Any]:
    """Returns `{"ok": True}` or `{"ok": False, "error": {"message", "line", "offset"}}`.

    `line` and `offset` are 1-based and `None` where the problem has no position (e.g. no `main`)."""
    if not isinstance(source, str):
        return _failure("source must be a string")
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return _failure(f"source is larger than {MAX_SOURCE_BYTES} bytes")
    try:
        compile(source, SCRIPT_FILENAME, "exec", dont_inherit=True)
        tree = ast.parse(source, SCRIPT_FILENAME)
    except SyntaxError as error:
        return _failure(f"{type(error).__name__}: {error.msg}", error.lineno, error.offset)
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes (3.11), absurd nesting
        return _failure(f"{type(error).__name__}: {error}")

    mains = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    mains = [node for node in mains if node.name == "main"]
    if not mains:
        return _failure("the script must define a top-level function main(inputs, ctx)")
    main = mains[-1]  # the last definition is the one bound when the module finishes
    if isinstance(main, ast.AsyncFunctionDef):
        return _failure("main must be a plain function, not async def", main.lineno, main.col_offset + 1)
    if _positional_count(main.args) < 2 and main.args.vararg is None:
        return _failure(
            "main must accept two positional parameters: main(inputs, ctx)", main.lineno, main.col_offset + 1
        )
    required_positional = _positional_count(main.args) - len(main.args.defaults)
    if required_positional > 2:
        return _failure(
            f"main requires {required_positional} positional parameters; it is called as main(inputs, ctx)",
            main.lineno,
            main.col_offset + 1,
        )
    required_keywords = [
        arg.arg for arg, default in zip(main.args.kwonlyargs, main.args.kw_defaults) if default is None
    ]
    if required_keywords:
        return _failure(
            f"main has required keyword-only parameters ({', '.join(required_keywords)}); it is called as main(inputs, ctx)",
            main.lineno,
            main.col_offset + 1,
        )
    return {"ok": True}
