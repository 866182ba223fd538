"""The course gradebook: roster, durable submission store, batch grading, late policy,
manual adjustments, extensions, exports and feedback.

One concern per module:

    models.py      the tables (SQLAlchemy); migrations/ is their Alembic history
    db.py          open a gradebook (SQLite file by default, any SQLAlchemy URL), upgrade its schema
    store.py       the content-addressed, write-once submission store
    roster.py      roster import from CSV
    course.py      the course profile (course.toml): weeks, due dates, late policies
    policy.py      late-penalty formulas
    collect.py     import submissions from zips/folders, cloned repos, nbgrader's exchange
    batch.py       grade every submission of an assignment, in parallel, exactly once
    scores.py      the final score of each student and assignment, from all of the above
    exports.py     CSV, Canvas and Moodle grade files
    feedback.py    per-student HTML and Markdown reports, the grade-distribution plot
    cli.py         the `adl roster|collect|gradebook|feedback` commands, `adl grade --all`
"""
