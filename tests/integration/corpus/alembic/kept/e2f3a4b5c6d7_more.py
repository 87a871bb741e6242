"""more

Revision ID: e2f3a4b5c6d7
Revises: e1f2a3b4c5d6
"""
from alembic import op
import sqlalchemy as sa

revision = 'e2f3a4b5c6d7'
down_revision = 'e1f2a3b4c5d6'


def upgrade():
    op.add_column('tickets', sa.Column('tenant_id', sa.Integer(), nullable=False))
    op.add_column(table_name='tickets', column=sa.Column('title', sa.String(50), nullable=True))
    op.create_index(index_name='ix_tickets_title', table_name='tickets', columns=['title'], unique=False)
    op.drop_column('tickets', 'name')
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('to_state')
        batch_op.add_column(sa.Column('next_state', sa.String(10), nullable=True))


def downgrade():
    op.drop_index(index_name='ix_tickets_title', table_name='tickets')
    with op.batch_alter_table('tickets') as batch_op:
        batch_op.drop_column('next_state')
        batch_op.add_column(sa.Column('to_state', sa.String(10), nullable=True))
    op.add_column('tickets', sa.Column('name', sa.String(50), nullable=True))
    op.drop_column('tickets', 'title')
    op.drop_column('tickets', 'tenant_id')
