"""Tables of the promotion stores (coupons, group-buys, referrals, shopper activity).

The guarantees live here as constraints, so they hold whichever app instance writes and whatever
the Python code does: stock never below zero, one row per (campaign, shopper, n), one member row
per shopper and seat, one reward per invitee. Table names carry a ``promo_`` prefix so they can
share a database with the order store and Rasa's tracker store.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from assistant.commerce.sql_schema import Cents, UtcDateTime

metadata = MetaData()

# -- coupons ------------------------------------------------------------------------------------

coupon_campaigns = Table(
    "promo_coupon_campaigns",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("title_zh", Text(), nullable=False),
    Column("title_en", Text(), nullable=False),
    Column("total_stock", Integer(), nullable=False),
    # Decremented by a conditional UPDATE per claim; the CHECK is the last line of defence.
    Column("remaining", Integer(), nullable=False),
    Column("per_shopper_limit", Integer(), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime()),
    Column("valid_days", Integer()),
    Column("min_spend", Cents(), nullable=False),
    Column("amount", Cents(), nullable=False),
    CheckConstraint("remaining >= 0", name="ck_promo_coupon_campaigns_remaining"),
    CheckConstraint("remaining <= total_stock", name="ck_promo_coupon_campaigns_stock"),
    CheckConstraint("per_shopper_limit >= 1", name="ck_promo_coupon_campaigns_limit"),
)

coupons = Table(
    "promo_coupons",
    metadata,
    Column("code", String(16), primary_key=True),
    Column(
        "campaign_id",
        String(64),
        ForeignKey("promo_coupon_campaigns.campaign_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("shopper_id", String(255), nullable=False),
    # The shopper's n-th coupon of this campaign, 1..per_shopper_limit: with the unique key below
    # two simultaneous claims by one shopper cannot both become coupon number n.
    Column("seq", Integer(), nullable=False),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("redeemed_at", UtcDateTime()),
    Column("order_id", String(64)),
    UniqueConstraint("campaign_id", "shopper_id", "seq", name="uq_promo_coupons_claim"),
    CheckConstraint("seq >= 1", name="ck_promo_coupons_seq"),
)
Index("ix_promo_coupons_shopper", coupons.c.shopper_id, coupons.c.claimed_at)

# -- group-buys ---------------------------------------------------------------------------------

group_buys = Table(
    "promo_group_buys",
    metadata,
    Column("group_buy_id", String(16), primary_key=True),
    Column("product_id", String(128), nullable=False),
    Column("chat_id", String(255), nullable=False),
    Column("starter_id", String(255), nullable=False),
    Column("size", Integer(), nullable=False),
    Column("price", Cents(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("deadline", UtcDateTime(), nullable=False),
    # open -> formed | failed, each by one conditional UPDATE on status = 'open'.
    Column("status", String(16), nullable=False),
    Column("member_count", Integer(), nullable=False),
    Column("closed_at", UtcDateTime()),
    # Set when the outcome was handed to the app to announce, so each is announced once.
    Column("announced", Boolean(), nullable=False, default=False),
    CheckConstraint("member_count >= 1 AND member_count <= size", name="ck_promo_group_buys_seats"),
    CheckConstraint("size >= 2", name="ck_promo_group_buys_size"),
)
Index("ix_promo_group_buys_status", group_buys.c.status, group_buys.c.deadline)
Index("ix_promo_group_buys_chat", group_buys.c.chat_id, group_buys.c.status)

group_buy_members = Table(
    "promo_group_buy_members",
    metadata,
    Column(
        "group_buy_id",
        String(16),
        ForeignKey("promo_group_buys.group_buy_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("shopper_id", String(255), primary_key=True),
    # Seat n is taken by the join that raised member_count to n: one shopper per seat.
    Column("seat", Integer(), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    UniqueConstraint("group_buy_id", "seat", name="uq_promo_group_buy_members_seat"),
)

# -- referrals ----------------------------------------------------------------------------------

referral_codes = Table(
    "promo_referral_codes",
    metadata,
    Column("shopper_id", String(255), primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

referral_bindings = Table(
    "promo_referral_bindings",
    metadata,
    # One referrer per invitee: the primary key makes the first binding win.
    Column("invitee_id", String(255), primary_key=True),
    Column("referrer_id", String(255), nullable=False),
    Column("bound_at", UtcDateTime(), nullable=False),
)
Index("ix_promo_referral_bindings_referrer", referral_bindings.c.referrer_id)

first_paid_orders = Table(
    "promo_first_paid_orders",
    metadata,
    # Every shopper's first paid order as reported to the referral store; the first report wins.
    Column("shopper_id", String(255), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("paid_at", UtcDateTime(), nullable=False),
)

referral_rewards = Table(
    "promo_referral_rewards",
    metadata,
    # One reward per invitee, ever: the primary key is the exactly-once guarantee.
    Column("invitee_id", String(255), primary_key=True),
    Column("referrer_id", String(255), nullable=False),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("granted_at", UtcDateTime(), nullable=False),
)
Index("ix_promo_referral_rewards_referrer", referral_rewards.c.referrer_id)

# -- shopper activity (lifecycle stages) --------------------------------------------------------

shopper_activity = Table(
    "promo_shopper_activity",
    metadata,
    Column("shopper_id", String(255), primary_key=True),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_active", UtcDateTime(), nullable=False),
)

paid_orders = Table(
    "promo_paid_orders",
    metadata,
    # Keyed by order id so reporting the same payment twice counts it once.
    Column("order_id", String(64), primary_key=True),
    Column("shopper_id", String(255), nullable=False),
    Column("paid_at", UtcDateTime(), nullable=False),
)
Index("ix_promo_paid_orders_shopper", paid_orders.c.shopper_id, paid_orders.c.paid_at)
