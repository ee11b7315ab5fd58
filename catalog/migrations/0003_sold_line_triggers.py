"""Keep ``catalog_soldline`` in step with the order lines, the orders and the customers by
triggers, and fill it from the lines already there."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION catalog_soldline_from_line() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.id <> OLD.id) THEN
        DELETE FROM catalog_soldline WHERE id = OLD.id;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    INSERT INTO catalog_soldline (
        id, order_id, customer_id, owner_id, department_id, status, placed_at, channel,
        region_province, region_city, sku, quantity, price, cost, policy_id, policy_name, policy_price
    )
    SELECT NEW.id, o.id, c.id, c.owner_id, c.department_id, o.status, o.placed_at, o.channel,
           c.region_province, c.region_city, NEW.sku, NEW.quantity, NEW.price, NEW.cost,
           NEW.policy_id, NEW.policy_name, NEW.policy_price
    FROM customers_order o JOIN customers_customer c ON c.id = o.customer_id
    WHERE o.id = NEW.order_id
    ON CONFLICT (id) DO UPDATE SET
        order_id = EXCLUDED.order_id, customer_id = EXCLUDED.customer_id, owner_id = EXCLUDED.owner_id,
        department_id = EXCLUDED.department_id, status = EXCLUDED.status, placed_at = EXCLUDED.placed_at,
        channel = EXCLUDED.channel, region_province = EXCLUDED.region_province,
        region_city = EXCLUDED.region_city, sku = EXCLUDED.sku, quantity = EXCLUDED.quantity,
        price = EXCLUDED.price, cost = EXCLUDED.cost, policy_id = EXCLUDED.policy_id,
        policy_name = EXCLUDED.policy_name, policy_price = EXCLUDED.policy_price;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_soldline_line
AFTER INSERT OR UPDATE OR DELETE ON customers_orderline
FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_line();

CREATE FUNCTION catalog_soldline_from_order() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_soldline s
    SET status = NEW.status, placed_at = NEW.placed_at, channel = NEW.channel, customer_id = c.id,
        owner_id = c.owner_id, department_id = c.department_id,
        region_province = c.region_province, region_city = c.region_city
    FROM customers_customer c
    WHERE s.order_id = NEW.id AND c.id = NEW.customer_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_soldline_order
AFTER UPDATE OF status, placed_at, channel, customer_id ON customers_order
FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_order();

CREATE FUNCTION catalog_soldline_from_customer() RETURNS trigger AS $$
BEGIN
    UPDATE catalog_soldline
    SET owner_id = NEW.owner_id, department_id = NEW.department_id,
        region_province = NEW.region_province, region_city = NEW.region_city
    WHERE customer_id = NEW.id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_soldline_customer
AFTER UPDATE OF owner_id, department_id, region_province, region_city ON customers_customer
FOR EACH ROW
WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.department_id IS DISTINCT FROM NEW.department_id
      OR OLD.region_province IS DISTINCT FROM NEW.region_province OR OLD.region_city IS DISTINCT FROM NEW.region_city)
EXECUTE FUNCTION catalog_soldline_from_customer();

INSERT INTO catalog_soldline (
    id, order_id, customer_id, owner_id, department_id, status, placed_at, channel,
    region_province, region_city, sku, quantity, price, cost, policy_id, policy_name, policy_price
)
SELECT l.id, o.id, c.id, c.owner_id, c.department_id, o.status, o.placed_at, o.channel,
       c.region_province, c.region_city, l.sku, l.quantity, l.price, l.cost,
       l.policy_id, l.policy_name, l.policy_price
FROM customers_orderline l
JOIN customers_order o ON o.id = l.order_id
JOIN customers_customer c ON c.id = o.customer_id;

ANALYZE catalog_soldline;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS catalog_soldline_line ON customers_orderline;
DROP TRIGGER IF EXISTS catalog_soldline_order ON customers_order;
DROP TRIGGER IF EXISTS catalog_soldline_customer ON customers_customer;
DROP FUNCTION IF EXISTS catalog_soldline_from_line();
DROP FUNCTION IF EXISTS catalog_soldline_from_order();
DROP FUNCTION IF EXISTS catalog_soldline_from_customer();
DELETE FROM catalog_soldline;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_sold_line"),
        ("customers", "0021_order_line_catalogue_price"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
