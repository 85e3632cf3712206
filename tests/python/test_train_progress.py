"""The progress line of `strata train` (stderr, on a terminal only).

The CLI rewrites one line ("\\r") after every step while stderr is a terminal:
    step S/N  loss L  lr X  R tok/s  left T
The test runs a short training with stderr on a pseudo-terminal and checks that a line
came for every step, in order, that each line's loss is the loss log.jsonl records for
that step (the line prints 4 decimals: |difference| <= 5e-5 plus float printing slack),
that its lr is log.jsonl's lr to the 3 significant digits printed, that tokens/s is a
positive number and the time left a duration.  With stderr not a terminal (a pipe), and
with --quiet on a terminal, the same run prints no progress line at all.
"""
import json
import os
import pty
import re
import select
import subprocess

import pytest

CLI = os.environ.get("STRATA_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="STRATA_CLI is not set (run through ctest)")

LINE = re.compile(r"step (\d+)/(\d+)  loss ([0-9.]+|nan|inf)  lr (\S+)  (\d+) tok/s  left (\S+)")
STEPS = 12


def write_rows(path):
    # 24 rows of 9..16 tokens over a vocabulary of 13 (a fixed pattern: no randomness needed)
    with open(path, "w") as f:
        for r in range(24):
            n = 9 + r % 8
            f.write(" ".join(str((r * 5 + 3 * t + t * t) % 13) for t in range(n)) + "\n")


def train_args(tmp_path, out):
    rows = tmp_path / "rows.txt"
    if not rows.exists():
        write_rows(rows)
    return [CLI, "train", "--out", str(out), "--n-layer", "1", "--n-head", "2", "--d-model", "16",
            "--n-ctx", "16", "--vocab", "13", "--tokens-file", str(rows), "--steps", str(STEPS),
            "--batch", "4", "--lr", "1e-2", "--warmup", "3", "--threads", "1", "--save-every", "5"]


def run_on_pty(args):
    """Runs args with stderr on a pseudo-terminal (stdout a pipe); returns (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    err = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            p.kill()
            raise AssertionError("strata train printed nothing for 60 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:        # EIO: the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    out = p.stdout.read()
    rc = p.wait(60)
    os.close(master)
    return rc, out.decode(), err.decode()


def read_log(out):
    with open(out / "log.jsonl") as f:
        return [json.loads(l) for l in f if l.strip()]


def test_progress_line_on_a_terminal(tmp_path):
    out = tmp_path / "run"
    rc, stdout, stderr = run_on_pty(train_args(tmp_path, out))
    assert rc == 0, stderr
    assert "trained steps 0..%d" % STEPS in stdout
    lines = [m for m in LINE.finditer(stderr)]
    assert [int(m.group(1)) for m in lines] == list(range(1, STEPS + 1)), stderr
    assert all(int(m.group(2)) == STEPS for m in lines)
    # each update rewrites the line: a carriage return before every one
    assert stderr.count("\rstep ") == STEPS
    log = read_log(out)
    assert [e["step"] for e in log] == list(range(1, STEPS + 1))
    losses = set()
    for m, e in zip(lines, log):
        loss = float(m.group(3))
        assert abs(loss - e["loss"]) <= 5e-5 + 1e-7, (m.group(0), e)
        lr = float(m.group(4))
        assert abs(lr - e["lr"]) <= 5e-3 * e["lr"], (m.group(0), e)   # %.3g
        assert int(m.group(5)) > 0, m.group(0)
        assert re.fullmatch(r"\d+s|\d+m\d\ds|\d+h\d\dm", m.group(6)), m.group(0)
        losses.add(round(loss, 4))
    # the loss changes during training (a line repeating one number would pass the above)
    assert len(losses) > STEPS // 2, losses
    # warm-up: lr rises over the first 3 steps, as log.jsonl says
    assert float(lines[0].group(4)) < float(lines[2].group(4))
    # nothing is left after the last step
    assert lines[-1].group(6) == "0s", lines[-1].group(0)


def test_no_progress_line_off_a_terminal(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run(train_args(tmp_path, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert not LINE.search(p.stderr), p.stderr
    assert "\r" not in p.stderr
    assert len(read_log(out)) == STEPS


def test_no_progress_line_with_quiet(tmp_path):
    out = tmp_path / "run"
    rc, stdout, stderr = run_on_pty(train_args(tmp_path, out) + ["--quiet"])
    assert rc == 0, stderr
    assert "trained steps 0..%d" % STEPS in stdout
    assert not LINE.search(stderr), stderr
    assert "\r" not in stderr
    assert len(read_log(out)) == STEPS
