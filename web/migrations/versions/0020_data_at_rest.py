"""data at rest and delivery leases: sealed TOTP secrets, one-time enrolment links, notice send leases

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 17:30:00

`app_user.totp_secret` grows to hold a Fernet token and every plain secret already stored is sealed
under the key derived from the configured SECRET_KEY (tasks.accounts.secret_box); downgrading opens them
again. `app_user.enrol_token_hash`/`enrol_expires_at` hold the one-time link an administrator issues for
a staff member's first authenticator. `notification_delivery.lease_until` is the expiry of a run's
claim on a delivery it is sending.
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from tasks.accounts.secret_box import is_sealed, seal, unseal

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_users = sa.table('app_user', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String))


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('enrol_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('enrol_expires_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    _rewrite_secrets(lambda key, value: value if is_sealed(value) else seal(key, value))


def downgrade():
    _rewrite_secrets(unseal)
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('enrol_expires_at')
        batch_op.drop_column('enrol_token_hash')
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=True)


def _rewrite_secrets(change):
    key = current_app.extensions["backoffice_config"].secret_key  # set by create_app, with or without services
    conn = op.get_bind()
    rows = conn.execute(sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None)))
    for user_id, value in rows.all():
        conn.execute(_users.update().where(_users.c.id == user_id).values(totp_secret=change(key, value)))
