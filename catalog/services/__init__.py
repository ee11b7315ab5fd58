"""Writes and computations of the catalogue. What other apps call:

- ``pricing.resolve_skus(codes, field="items[{index}].sku", on_sale_only=False)`` → the SKUs in order,
  or ``ValidationError`` naming each unknown code (``{"items[2].sku": ["Unknown SKU: X."]}``);
- ``pricing.prices_for(skus=…, customer=…, channel=…, on=…)`` → ``{sku.pk: Quote}`` (two queries for
  any number of lines); ``pricing.price_for(sku=…, …)`` for one; a ``Quote`` has ``price``,
  ``list_price``, ``cost``, ``policy`` (or ``None``) and ``policy_name``;
- ``entitlements.grant_for_order(order)``: the entitlements an order's SKUs carry, once per order and
  SKU (registered on ``customers.registry.order_placed``);
- ``entitlements.consume(entitlement=…, quantity=…, reference=…)``.
"""
