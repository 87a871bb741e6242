"""init

Revision ID: e1f2a3b4c5d6
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'e1f2a3b4c5d6'
down_revision = None


def upgrade():
    op.create_table('tickets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(50), nullable=True),
        sa.Column('big', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('from_state', sa.Enum('new', 'open', name='ticket_state'), nullable=True),
        sa.Column('to_state', sa.Enum('new', 'open', name='ticket_state'), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('tickets')
