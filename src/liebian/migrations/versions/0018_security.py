"""security: rate-limit counters, revoked tokens, the audit trail, the devices and phones that link alt accounts;
phone numbers of saved addresses and of orders' address snapshots sealed (AES-256-GCM) with a lookup hash and a
masked copy, existing rows included.

Sealing existing rows needs the data key: ``liebian migrate`` passes it (LIEBIAN_DATA_KEY, else the secret key);
a bare ``alembic upgrade`` reads LIEBIAN_DATA_KEY or LIEBIAN_SECRET_KEY. With rows to seal and no key it stops.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 20:00:00.000000
"""

import json
import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())
BATCH = 1000


def _tables() -> None:
    op.create_table('kit_rate_limits',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_kit_rate_limits'))
    )
    op.create_table('kit_token_revocations',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('token_id', sa.String(length=32), nullable=True),
    sa.Column('not_before_ms', sa.BigInteger(), nullable=True),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kit_token_revocations'))
    )
    op.create_index('ix_kit_token_revocations_expires', 'kit_token_revocations', ['expires_at'], unique=False)
    op.create_table('kit_audit_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=True),
    sa.Column('at', TS, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=True),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('details', JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kit_audit_events'))
    )
    op.create_index('ix_kit_audit_events_shop', 'kit_audit_events', ['shop_id', 'kind', 'id'], unique=False)
    op.create_index('ix_kit_audit_events_shop_id', 'kit_audit_events', ['shop_id', 'id'], unique=False)
    op.create_table('customer_identifiers',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('first_seen_at', TS, nullable=False),
    sa.Column('last_seen_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'kind', 'value', 'customer_id', name=op.f('pk_customer_identifiers'))
    )
    op.create_index('ix_customer_identifiers_customer', 'customer_identifiers', ['shop_id', 'customer_id'],
                    unique=False)


def _vault():  # type: ignore[no-untyped-def]
    from liebian.kit.crypto import Vault

    key = (context.config.attributes.get('liebian.data_key') or os.environ.get('LIEBIAN_DATA_KEY')
           or os.environ.get('LIEBIAN_SECRET_KEY'))
    if not key:
        raise RuntimeError('0018 seals the phone numbers already stored and needs the data key: run it with '
                           '`liebian migrate`, or set LIEBIAN_DATA_KEY (or LIEBIAN_SECRET_KEY)')
    return Vault(key)


def _seal_addresses(conn: sa.Connection) -> None:
    from liebian.kit.crypto import mask_phone

    vault, last = None, 0
    while True:
        rows = conn.execute(sa.text("SELECT id, shop_id, customer_id, phone FROM customer_addresses WHERE id > :last "
                                    "AND phone_ciphertext IS NULL ORDER BY id LIMIT :n"), {'last': last, 'n': BATCH}).all()
        if not rows:
            return
        vault = vault or _vault()
        for r in rows:
            conn.execute(sa.text("UPDATE customer_addresses SET phone_ciphertext = :ct, phone_hash = :h, "
                                 "phone_masked = :m WHERE id = :id"),
                         {'ct': vault.seal(r.phone, f'address:{r.shop_id}:{r.customer_id}'),
                          'h': vault.phone_hash(r.phone), 'm': mask_phone(r.phone), 'id': r.id})
        last = rows[-1].id


def _seal_orders(conn: sa.Connection) -> None:
    vault, last = None, 0
    while True:
        rows = conn.execute(sa.text("SELECT id, shop_id, customer_id, address FROM orders WHERE id > :last "
                                    "AND address ? 'phone' AND NOT address ? 'phone_sealed' ORDER BY id LIMIT :n"),
                            {'last': last, 'n': BATCH}).all()
        if not rows:
            return
        vault = vault or _vault()
        for r in rows:
            address = r.address if isinstance(r.address, dict) else json.loads(r.address)
            sealed = vault.seal_contact(address, f'order:{r.shop_id}:{r.customer_id}')
            conn.execute(sa.text("UPDATE orders SET address = CAST(:a AS jsonb) WHERE id = :id"),
                         {'a': json.dumps(sealed, ensure_ascii=False), 'id': r.id})
        last = rows[-1].id


def upgrade() -> None:
    _tables()
    op.add_column('customer_addresses', sa.Column('phone_ciphertext', sa.LargeBinary(), nullable=True))
    op.add_column('customer_addresses', sa.Column('phone_hash', sa.LargeBinary(), nullable=True))
    op.add_column('customer_addresses', sa.Column('phone_masked', sa.String(length=24), nullable=True))
    conn = op.get_bind()
    _seal_addresses(conn)
    _seal_orders(conn)
    for column in ('phone_ciphertext', 'phone_hash', 'phone_masked'):
        op.alter_column('customer_addresses', column, nullable=False)
    op.drop_column('customer_addresses', 'phone')


def downgrade() -> None:
    # The numbers stay sealed: a downgrade keeps the columns' shape only (the clear column comes back empty).
    op.add_column('customer_addresses', sa.Column('phone', sa.String(length=20), server_default='', nullable=False))
    op.alter_column('customer_addresses', 'phone', server_default=None)
    for column in ('phone_masked', 'phone_hash', 'phone_ciphertext'):
        op.drop_column('customer_addresses', column)
    op.drop_index('ix_customer_identifiers_customer', table_name='customer_identifiers')
    op.drop_table('customer_identifiers')
    op.drop_index('ix_kit_audit_events_shop_id', table_name='kit_audit_events')
    op.drop_index('ix_kit_audit_events_shop', table_name='kit_audit_events')
    op.drop_table('kit_audit_events')
    op.drop_index('ix_kit_token_revocations_expires', table_name='kit_token_revocations')
    op.drop_table('kit_token_revocations')
    op.drop_table('kit_rate_limits')
