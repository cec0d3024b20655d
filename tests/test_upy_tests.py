"""MicroPython's own tests (tests/run-tests.py) through the vboard's serial port.

A board cooks what Python prints (``\\n`` -> ``\\r\\n``) and leaves binary writes alone;
run-tests.py relies on it (it looks for ``START TEST\\r\\n``). A sample of tests/basics
runs directly on the Unix port and through a fresh vboard: every test that passes
directly must pass on the vboard. The whole directory: ``make upy-tests``.
"""

import sys
from pathlib import Path

import pytest
from pumpctl.vboard import LineCooker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import upy_tests  # noqa: E402

# print with and without end, exceptions (tracebacks on the error channel), big ints,
# strings with \r and \n in them, bytes, a test that fails on both (pow3), a long output
SAMPLE = [
    "basics/builtin_print.py", "basics/exception1.py", "basics/try_finally1.py",
    "basics/int_big1.py", "basics/string_escape.py", "basics/string_splitlines.py",
    "basics/bytes.py", "basics/dict1.py", "basics/generator1.py", "basics/class1.py",
    "basics/list_slice.py", "basics/builtin_pow3.py",
    "basics/frozenset_binop.py",  # 20 KB of output: more than a pty holds unread
    "basics/string_crlf_conversion.py",  # CR LF line ends inside pasted source
    "basics/sys_path.py",  # skips itself on a board: it needs a script file
]  # fmt: skip


def test_cooker_gives_text_crlf_and_leaves_frames_and_crlf_alone():
    c = LineCooker()
    assert c.cook(b"START TEST\nok\r\n") == b"START TEST\r\nok\r\n"
    frame = b"\x1eAQIDBAUG\n"  # RS, base64, LF: written raw by the firmware
    assert c.cook(b"a\n" + frame + b"b\n") == b"a\r\n" + frame + b"b\r\n"
    # state carries across reads: a \r at the end of one read, a frame split in two
    assert c.cook(b"x\r") + c.cook(b"\ny\n") == b"x\r\ny\r\n"
    assert c.cook(b"\x1eAQID") + c.cook(b"BAUG\nz\n") == frame + b"z\r\n"


def test_comparison_fails_when_the_board_loses_a_test():
    # the check that make upy-tests and the sample below rely on
    same = upy_tests.Comparison({"a": "pass", "b": "fail"}, {"a": "pass", "b": "fail"})
    lost = upy_tests.Comparison({"a": "pass", "b": "pass"}, {"a": "pass", "b": "fail"})
    nothing = upy_tests.Comparison({"a": "fail"}, {"a": "fail"})
    gone = upy_tests.Comparison({"a": "pass", "b": "pass"}, {"a": "pass"})
    skips = upy_tests.Comparison({"a": "pass", "b": "pass"}, {"a": "pass", "b": "skip"})
    assert same.ok and not lost.ok and not nothing.ok and not gone.ok
    assert skips.ok and skips.skipped_on_board == ["b"]
    assert lost.regressions == ["b"] and "FAIL: pass directly, not on vboard: b" in lost.report(
        "vboard"
    )


@pytest.fixture(scope="module")
def tests_dir():
    root = upy_tests.micropython_source(fetch=False)
    if root is None:
        pytest.skip(
            "no MicroPython source: set MICROPY_SRC to a MicroPython tree, or put the "
            "snapshot micropython-1c3c2011.tar.xz in ../shared/vendor (docs/boards.md)"
        )
    return root / "tests"


def test_basics_sample_passes_on_the_vboard_as_directly(tests_dir, tmp_path):
    files, left_out = upy_tests.test_files(tests_dir, "basics", SAMPLE)
    assert files == SAMPLE and not left_out
    result = upy_tests.compare(tests_dir, files, tmp_path)
    assert set(result.direct) == set(result.board) == set(SAMPLE)
    assert result.ok, result.report("vboard")
    # the sample really runs: all but pow3 (fails on both) and sys_path (skips on a board)
    assert len(result.passed(result.board)) >= len(SAMPLE) - 2
