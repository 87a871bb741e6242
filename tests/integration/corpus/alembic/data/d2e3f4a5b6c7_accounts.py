"""accounts

Revision ID: d2e3f4a5b6c7
Revises: c1d2e3f4a5b6
"""
from alembic import op
import sqlalchemy as sa

revision = 'd2e3f4a5b6c7'
down_revision = 'c1d2e3f4a5b6'


def upgrade():
    accounts_table = op.create_table(
        'account',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('name', sa.String(50), nullable=False),
        sa.Column('description', sa.Unicode(200)),
    )
    op.bulk_insert(
        accounts_table,
        [
            {'id': 1, 'name': 'John Smith', 'description': 'CEO'},
            {'id': 2, 'name': 'Ed Williams', 'description': 'CTO'},
        ],
    )


def downgrade():
    op.drop_table('account')
