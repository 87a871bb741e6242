"""backfill display names

Revision ID: b1c2d3e4f5a6
Revises: 
Create Date: 2026-04-01 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from myapp.text import make_display_name

# revision identifiers, used by Alembic.
revision = 'b1c2d3e4f5a6'
down_revision = None
branch_labels = None
depends_on = None


def _people_table():
    return sa.table('people', sa.column('id'), sa.column('name'))


def upgrade() -> None:
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM people")).fetchall()
    for row in rows:
        bind.execute(
            sa.text("UPDATE people SET display_name = :d WHERE id = :id"),
            {"d": make_display_name(row.name), "id": row.id},
        )
    if op.get_context().dialect.name == "postgresql":
        op.execute("ANALYZE people")
    else:
        pass
    op.create_index('ix_people_display_name', 'people', ['display_name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_people_display_name', table_name='people')
    op.drop_table('people')
