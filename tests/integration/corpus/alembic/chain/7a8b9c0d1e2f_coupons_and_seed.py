"""coupons, and seed data

Revision ID: 7a8b9c0d1e2f
Revises: 6f7a8b9c0d1e
Create Date: 2026-03-15 11:11:11.111111

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.sql import table, column


# revision identifiers, used by Alembic.
revision = '7a8b9c0d1e2f'
down_revision = '6f7a8b9c0d1e'
branch_labels = None
depends_on = '4d5e6f7a8b9c'


def upgrade() -> None:
    op.create_table('coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('percent', sa.Numeric(5, 2), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', name='uq_coupons_code')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_orders_coupon_id', 'coupons', ['coupon_id'], ['id'], ondelete='SET NULL')

    coupons = table('coupons',
        column('id', sa.Integer),
        column('code', sa.String),
        column('percent', sa.Numeric),
    )
    op.bulk_insert(coupons, [
        {'id': 1, 'code': 'WELCOME10', 'percent': 10},
        {'id': 2, 'code': "SPRING-25", 'percent': 25.5},
    ])
    op.execute("UPDATE coupons SET code = lower(code) "
               "WHERE id = 2")
    op.execute(sa.text("""
        UPDATE coupons
           SET percent = 12.5
         WHERE code = 'WELCOME10'
    """))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_orders_coupon_id', type_='foreignkey')
        batch_op.drop_column('coupon_id')

    op.drop_table('coupons')
