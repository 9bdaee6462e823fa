"""The course assignments: build them from their (sealed) masters, grade a class in sandboxes.

    python tools/course.py build                     # make assignments / make teacher
    python tools/course.py grade a3_cmc_ablation DIR # make grade ASSIGNMENT=a3_cmc_ablation SUBMISSIONS=DIR
    python tools/course.py --help                    # every command: check, unseal, seal, merge, sandbox

The code is in tools/grading/ (its package docstring says what each module does).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.grading.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
