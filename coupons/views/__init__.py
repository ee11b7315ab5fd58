"""Coupon pages, one module per area."""
