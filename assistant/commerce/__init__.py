"""Commerce: orders, order verification, return rules, the staff hand-off queue, demo data."""

from assistant.commerce.interfaces import HandoffStore, OrderStore
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
from assistant.commerce.returns import ReturnAssessment, ReturnRules, assess_return
from assistant.commerce.seed import ProductRef, demo_orders, seed_if_empty
from assistant.commerce.sql import SqlCommerce
from assistant.commerce.verification import OrderVerifier, VerificationResult, VerificationStatus

__all__ = [
    "CHINA_TIME",
    "COURIER_NAMES_EN",
    "ORDER_STATUSES",
    "HandoffRequest",
    "HandoffStore",
    "LogisticsEvent",
    "Order",
    "OrderItem",
    "OrderStatus",
    "OrderStore",
    "OrderVerifier",
    "ProductRef",
    "ReturnAssessment",
    "ReturnRules",
    "SqlCommerce",
    "VerificationResult",
    "VerificationStatus",
    "assess_return",
    "demo_orders",
    "extract_order_id",
    "extract_phone_digits",
    "normalize_order_id",
    "normalize_phone_digits",
    "seed_if_empty",
]
