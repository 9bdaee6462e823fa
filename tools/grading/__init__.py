"""The course: build the assignments from their sealed masters, and grade a class in sandboxes.

otter-grader makes the student notebooks and their public checks (``otter assign``); it does not
grade. Its runner executes a submission in the same process as the hidden tests, so a notebook can
patch the test runner, read the tests or import the truth. Here the grader keeps the hidden tests
to itself and runs each notebook in a bubblewrap sandbox, calling the student's functions through a
narrow channel of plain values and arrays. The modules, from the outside in:

* ``cli``: the command line (``python tools/course.py``); ``drill``: a made-up class, timed;
* ``sealed``: the masters encrypted in course/sealed, opened with the course secret;
* ``masters``: the assignments, their questions, points, hidden tests, rubrics and solution lines;
* ``build``: ``otter assign`` -> student notebooks with a public-checks cell, solutions, rubrics;
* ``grade``: a class: submissions (the newest counts), checksums around the run, verdicts;
* ``report``: the grade sheet, feedback files, written answers, manual scores; ``similarity``;
* ``run``: one notebook in its sandbox, seen from the grader (limits, restarts, remote calls);
* ``checks``: what the hidden tests call the student's code with;
* ``sandbox``: bubblewrap, kernel limits, the watchdog; ``libcopy``: the grading copy of reidlib;
* ``worker`` and ``channel``: what runs inside the sandbox, and the messages it exchanges.
"""
