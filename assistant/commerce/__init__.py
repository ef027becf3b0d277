"""Commerce: orders, verification, returns, hand-offs, promotions (coupons, group-buys, referrals,
lifecycle stages), demo data."""

from assistant.commerce.coupons import (
    CampaignStock,
    ClaimRefusal,
    ClaimResult,
    Coupon,
    CouponCampaign,
    CouponService,
    RedeemResult,
    RedeemStatus,
)
from assistant.commerce.groupbuys import (
    GroupBuy,
    GroupBuyEvent,
    GroupBuyService,
    JoinResult,
    JoinStatus,
)
from assistant.commerce.interfaces import HandoffStore, OrderStore
from assistant.commerce.lifecycle import (
    Lifecycle,
    LifecycleRules,
    LifecycleRulesError,
    ShopperActivity,
    ShopperActivityStore,
    Stage,
    StageAssessment,
    StageOffers,
    load_lifecycle_rules,
)
from assistant.commerce.models import (
    CHINA_TIME,
    COURIER_NAMES_EN,
    ORDER_STATUSES,
    HandoffRequest,
    LogisticsEvent,
    Order,
    OrderItem,
    OrderStatus,
)
from assistant.commerce.order_text import (
    extract_order_id,
    extract_phone_digits,
    normalize_order_id,
    normalize_phone_digits,
)
from assistant.commerce.promotion_texts import promotion_text
from assistant.commerce.promotions_sql import SqlPromotions
from assistant.commerce.referrals import (
    BindResult,
    BindStatus,
    ReferralReward,
    ReferralService,
    RewardResult,
    RewardStatus,
)
from assistant.commerce.returns import ReturnAssessment, ReturnRules, assess_return
from assistant.commerce.seed import ProductRef, demo_orders, seed_if_empty
from assistant.commerce.sql import SqlCommerce
from assistant.commerce.verification import OrderVerifier, VerificationResult, VerificationStatus

__all__ = [
    "BindResult",
    "BindStatus",
    "CHINA_TIME",
    "COURIER_NAMES_EN",
    "CampaignStock",
    "ClaimRefusal",
    "ClaimResult",
    "Coupon",
    "CouponCampaign",
    "CouponService",
    "GroupBuy",
    "GroupBuyEvent",
    "GroupBuyService",
    "HandoffRequest",
    "HandoffStore",
    "JoinResult",
    "JoinStatus",
    "Lifecycle",
    "LifecycleRules",
    "LifecycleRulesError",
    "LogisticsEvent",
    "ORDER_STATUSES",
    "Order",
    "OrderItem",
    "OrderStatus",
    "OrderStore",
    "OrderVerifier",
    "ProductRef",
    "RedeemResult",
    "RedeemStatus",
    "ReferralReward",
    "ReferralService",
    "ReturnAssessment",
    "ReturnRules",
    "RewardResult",
    "RewardStatus",
    "ShopperActivity",
    "ShopperActivityStore",
    "SqlCommerce",
    "SqlPromotions",
    "Stage",
    "StageAssessment",
    "StageOffers",
    "VerificationResult",
    "VerificationStatus",
    "assess_return",
    "demo_orders",
    "extract_order_id",
    "extract_phone_digits",
    "load_lifecycle_rules",
    "normalize_order_id",
    "normalize_phone_digits",
    "promotion_text",
    "seed_if_empty",
]
