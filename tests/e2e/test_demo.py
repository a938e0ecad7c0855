"""`replica-bot demo`, the README's first command: the whole story, on this machine, with no credentials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.test_settings_cli import clean_env

# The demo promises to finish in under a minute; the margin is for a loaded CI machine.
TIMEOUT = 120


def test_the_demo_catches_the_photo_before_a_run_is_spent_then_shows_preview_tuned_and_a_sample_video(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    story = [
        # Tavus' own check, in our words, before anything is submitted, with the choices.
        "nothing was submitted",
        "More than one face in the photo",
        "[ Use another photo ]",
        "[ Submit anyway ]",
        # The requester takes one: the prefilled form opens, and the new photo goes in.
        "click [ Use another photo ]",
        "a form opens: Retry with a new photo",
        "Replica name: Ana Demo",
        "Replica request: Ana Demo",
        # phoenix-4.5: the preview first, then the tuning, each said once in the thread.
        "Preview ready",
        "the preview of Ana Demo is ready",
        "Tuned — watermark removed",
        "Ana Demo is tuned — watermark removed",
        # Then the face is tried where it was asked for: a sample video, its link in the thread.
        "click [ Make a sample video ]",
        "a form opens: Sample video",
        "asked for a sample video of Ana Demo",
        "the sample video of Ana Demo is ready: Watch it (https://videos.tavus-emulator.invalid/video/",
    ]
    positions = [out.find(line) for line in story]
    assert -1 not in positions, [line for line, at in zip(story, positions, strict=True) if at < 0]
    assert positions == sorted(positions)
    # The group photo never reached training: the only card is the retry's.
    assert out.count("Replica request: ") == 1
    assert out.count("the preview of Ana Demo is ready") == 1
    assert out.count("Ana Demo is tuned") == 1
    assert out.count("the sample video of Ana Demo is ready") == 1
