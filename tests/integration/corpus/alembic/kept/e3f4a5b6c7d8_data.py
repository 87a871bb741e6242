"""data

Revision ID: e3f4a5b6c7d8
Revises: e2f3a4b5c6d7
"""
from alembic import op
import sqlalchemy as sa

revision = 'e3f4a5b6c7d8'
down_revision = 'e2f3a4b5c6d7'


def upgrade():
    op.execute("UPDATE tickets SET title = 'x'")


def downgrade():
    pass
