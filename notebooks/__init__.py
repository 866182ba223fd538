"""The seminar notebook of each week, with nbgrader and otter-grader.

    generate.py     the student notebook, built by nbgrader's own generator (`adl release`)
    course.py       an nbgrader course folder for the bank: source/, nbgrader_config.py, exchange
    restore.py      a sanitizing preprocessor: deleted, duplicated and retyped cells, told to the student
    feedback.py     nbgrader's feedback to students, without the hidden tests
    kernel.py       a Jupyter kernel inside the grader's sandbox, for nbgrader's autograde
    scores.py       nbgrader's per-cell scores (autograded and manual) into adl's gradebook
    pdf.py          a student's notebook as PDF, for manual grading on Gradescope
    cli.py          the `adl` commands of this folder
"""
