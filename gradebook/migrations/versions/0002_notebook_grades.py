"""Notebook grades: per-cell scores of the seminar notebooks, imported from nbgrader.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notebook_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.String(length=64), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('cell', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('auto_score', sa.Float(), nullable=True),
    sa.Column('manual_score', sa.Float(), nullable=True),
    sa.Column('needs_manual_grade', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('notice', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['slug'], ['assignments.slug'], ),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('student_id', 'slug', 'cell')
    )
    op.create_index(op.f('ix_notebook_grades_slug'), 'notebook_grades', ['slug'], unique=False)
    op.create_index(op.f('ix_notebook_grades_student_id'), 'notebook_grades', ['student_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notebook_grades_student_id'), table_name='notebook_grades')
    op.drop_index(op.f('ix_notebook_grades_slug'), table_name='notebook_grades')
    op.drop_table('notebook_grades')
