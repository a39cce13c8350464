"""Durable entities: the `Counter` aggregator and the counters the app keeps."""

from .counter import (
    OPERATIONS,
    ORDERS_COMPLETED,
    REVENUE_CENTS,
    Counter,
    counter_id,
    is_json_int,
    unknown_operation_message,
)

__all__ = [
    "OPERATIONS",
    "ORDERS_COMPLETED",
    "REVENUE_CENTS",
    "Counter",
    "counter_id",
    "is_json_int",
    "unknown_operation_message",
]
