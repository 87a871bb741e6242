"""seed settings

Revision ID: c1d2e3f4a5b6
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'c1d2e3f4a5b6'
down_revision = None


def upgrade():
    op.create_table('settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), server_default='5', nullable=True),
        sa.Column('owner', sa.String(20), server_default='system', nullable=True),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    settings = sa.table('settings', sa.column('id'), sa.column('level'), sa.column('owner'), sa.column('value', sa.JSON))
    op.bulk_insert(settings, [
        {'id': 1, 'level': None, 'owner': None, 'value': {'color': 'blué', 'sizes': [1, 2], 'x': None}},
        {'id': 2, 'level': 7, 'owner': 'bob', 'value': [True, 1.5, "a\"b"]},
    ])
    op.create_index('ix_w_active', 'settings', ['status'], postgresql_where=sa.text("status::text <> 'archived'"), sqlite_where=sa.text("status <> 'archived'"))


def downgrade():
    op.drop_index('ix_w_active', table_name='settings', postgresql_where=sa.text("status::text <> 'archived'"))
    op.drop_table('settings')
