"""The log pane: TensorFlow's start-up chatter folds into one dim line; what matters stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.style import Style
from textual.app import App, ComposeResult

from tui.widgets.log_pane import LineKind, LogPane, RuntimeNotices, classify

# What TensorFlow 2.20 writes to file descriptor 2 on a machine without a GPU (from a real
# log: two imports, then the first use of the device).
START_UP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796010384.146358   28363 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796010384.146663   28363 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1796010384.146900   28363 cpu_feature_guard.cc:210] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796010402.248516   28363 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1796010402.249151   28363 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1796010407.948417   28363 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]

PROBLEMS = [
    "W0000 00:00:1796010500.000001   28363 bfc_allocator.cc:482] Allocator (GPU_0_bfc) ran out "
    "of memory trying to allocate 2.00GiB (rounded to 2147483648)requested by op Conv2D",
    "tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor "
    "with shape[4096,32,26,26] and type float",
    "W0000 00:00:1796010500.000002   28363 op_kernel.cc:1841] OP_REQUIRES failed at "
    "conv_ops_impl.h:1204 : UNIMPLEMENTED: DNN library is not found.",
    "E0000 00:00:1796010500.000003   28363 some_new_thing.cc:12] a runtime error nobody expected",
    "2026-01-01 12:00:00.123456: E tensorflow/core/kernels/x.cc:1] something broke",
    "F0000 00:00:1796010500.000004   28363 tensor.cc:99] Check failed: shape ok",
    "2026-01-01 12:00:00.123456: F tensorflow/core/framework/tensor.cc:1] bad shape",
    "Traceback (most recent call last):",
]


@pytest.mark.parametrize("line", START_UP)
def test_start_up_chatter_is_a_runtime_notice(line: str) -> None:
    assert classify(line) is LineKind.RUNTIME_NOTICE


@pytest.mark.parametrize("line", PROBLEMS)
def test_runtime_messages_that_matter_are_problems(line: str) -> None:
    assert classify(line) is LineKind.RUNTIME_PROBLEM


@pytest.mark.parametrize(
    "line",
    [
        '  File "/app/core/training.py", line 12, in fit',
        "2026-11-30 03:46:22,123 py.warnings WARNING UserWarning: do not pass an input_shape",
    ],
)
def test_other_lines_are_left_as_they_are(line: str) -> None:
    assert classify(line) is LineKind.OTHER


def test_notices_say_what_they_mean() -> None:
    notices = RuntimeNotices()
    for line in START_UP:
        notices.add(line)
    assert notices.summary() == (
        "TensorFlow runtime: no CUDA driver found, training on the CPU; 8 lines in the log file"
    )
    gpu = RuntimeNotices()
    gpu.add(
        "I0000 00:00:1.1   1 gpu_device.cc:2020] Created device "
        "/job:localhost/replica:0/task:0/device:GPU:0 with 139000 MB memory"
    )
    assert gpu.summary() == "TensorFlow runtime: GPU found and in use; 1 line in the log file"


class PaneApp(App[None]):
    def __init__(self, log_path: Path) -> None:
        super().__init__()
        self.log_path = log_path

    def compose(self) -> ComposeResult:
        yield LogPane(self.log_path)


def shown(pane: LogPane) -> list[tuple[str, Style]]:
    """Each line on show, with the style of its first character."""
    lines = []
    for strip in pane.lines:
        segments = [segment for segment in strip if segment.text.strip()]
        lines.append((strip.text.rstrip(), segments[0].style or Style()))
    return lines


def test_pane_folds_chatter_into_one_dim_line_and_keeps_problems(tmp_path: Path) -> None:
    log = tmp_path / "fmnist-tui.log"
    log.write_text("\n".join(START_UP[:4]) + "\n")

    async def scenario() -> None:
        app = PaneApp(log)
        async with app.run_test(size=(200, 30)) as pilot:
            pane = app.query_one(LogPane)
            pane.follow()
            pane.add("Ready: press t to train")
            with log.open("a") as file:
                file.write("\n".join(START_UP[4:]) + "\n" + PROBLEMS[1] + "\n")
            pane.follow()
            await pilot.pause()
            lines = shown(pane)
            text = " ".join(text for text, _style in lines)
            assert text.startswith(
                "TensorFlow runtime: no CUDA driver found, training on the CPU; "
                "8 lines in the log file Ready: press t to train "
            )
            assert text.endswith(PROBLEMS[1])
            assert text.count("TensorFlow runtime") == 1
            for chatter in ("absl::InitializeLog", "oneDNN", "cudart_stub", "cuInit"):
                assert chatter not in text
            styles = {text.split()[0]: style for text, style in lines}
            assert styles["TensorFlow"].dim
            assert not styles["Ready:"].dim
            assert styles["tensorflow.python.framework.errors_impl.ResourceExhaustedError:"].bold
            # Everything is still in the file.
            assert all(line in log.read_text() for line in START_UP)

    asyncio.run(scenario())
