"""Start one test stack (Rasa + app, seeded orders) and keep it up, so several connector test
runs can share it: ``python -m tests.connectors.shared_stack DIR`` prints the Rasa URL."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.stack import start_system


def main() -> None:
    running = start_system(Path(sys.argv[1]))
    print(f"SIYU_TEST_RASA_URL={running.rasa_url}", flush=True)
    print(f"app={running.app_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        running.stack.stop()


if __name__ == "__main__":
    main()
