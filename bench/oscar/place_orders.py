"""django-oscar placing orders through its own ``OrderCreator``, in one process: the peer of ``liebian bench oscar``.

Runs inside ``bench/.oscar-venv`` (django-oscar is never installed into the project's venv), on the scratch
database named by ``OSCAR_BENCH_DATABASE_URL``:

    place_orders.py setup --products 500 --users 200     # migrate, a partner, products with stock, users
    place_orders.py run --seconds 10 --seed 0             # place orders for the window; JSON on the last line

Each order is what Oscar's checkout does once the customer pays (``PaymentDetailsView.handle_order_placement``):
the basket's shipping charge and total, the shipping address saved, ``OrderCreator().place_order`` (the order,
its lines and prices, the stock allocation, in one transaction) and ``basket.submit()``. The basket it submits
is built just before (a new basket, ``add_product``, ``freeze``) and timed apart: ``orders_per_s`` counts only
the placement, Oscar's best case; ``orders_per_s_with_basket`` counts both. A random user and product each time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from oscar.core.loading import get_class, get_model  # noqa: E402

Basket = get_model("basket", "Basket")
Country = get_model("address", "Country")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
StockRecord = get_model("partner", "StockRecord")
Order = get_model("order", "Order")
ShippingAddress = get_model("order", "ShippingAddress")
OrderCreator = get_class("order.utils", "OrderCreator")
OrderNumberGenerator = get_class("order.utils", "OrderNumberGenerator")
OrderTotalCalculator = get_class("checkout.calculators", "OrderTotalCalculator")
Selector = get_class("partner.strategy", "Selector")
Free = get_class("shipping.methods", "Free")
STOCK = 10_000_000


def setup(products: int, users: int) -> dict[str, object]:
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter() - started
    Country.objects.update_or_create(iso_3166_1_a2="CN", defaults={
        "iso_3166_1_a3": "CHN", "iso_3166_1_numeric": "156", "printable_name": "China", "name": "China",
        "is_shipping_country": True})
    partner = Partner.objects.create(name="压测")
    kind = ProductClass.objects.create(name="压测", track_stock=True, requires_shipping=True)
    for i in range(products):
        product = Product.objects.create(product_class=kind, title=f"压测商品 {i}", structure="standalone")
        StockRecord.objects.create(product=product, partner=partner, partner_sku=f"sku-{i}", price_currency="CNY",
                                   price=Decimal("19.90"), num_in_stock=STOCK)
    user_model = get_user_model()
    for i in range(users):
        user_model.objects.create_user(username=f"buyer{i}", email=f"buyer{i}@bench.example", password=None)
    return {"migrate_seconds": round(migrated, 1), "products": products, "users": users}


class Counting:
    """Statements sent to PostgreSQL (Django's execute wrapper), to set beside Liebian's."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.n += 1
        return execute(sql, params, many, context)


def run(seconds: float, seed: int, hot: bool) -> dict[str, object]:
    rng = random.Random(seed)
    users = list(get_user_model().objects.all())
    products = list(Product.objects.order_by("id"))
    china = Country.objects.get(iso_3166_1_a2="CN")
    counting = Counting()
    place_s = basket_s = 0.0
    orders = basket_queries = place_queries = 0
    before = Order.objects.count()
    warm = 3  # the first orders of a process load Oscar's classes: not counted
    started = time.perf_counter()
    with connection.execute_wrapper(counting):
        while time.perf_counter() - started < seconds or warm > 0:
            user, product = rng.choice(users), products[0] if hot else rng.choice(products)
            t0, q0 = time.perf_counter(), counting.n
            basket = Basket.objects.create(owner=user)
            basket.strategy = Selector().strategy(user=user)
            basket.add_product(product, 1)
            basket.freeze()
            t1, q1 = time.perf_counter(), counting.n
            method = Free()
            charge = method.calculate(basket)
            total = OrderTotalCalculator().calculate(basket, charge)
            address = ShippingAddress(first_name="压", last_name="测", line1="世纪大道 1 号", line4="上海市",
                                      postcode="200120", country=china)
            address.save()  # as the checkout's create_shipping_address does
            OrderCreator().place_order(basket=basket, total=total, shipping_method=method, shipping_charge=charge,
                                       user=user, shipping_address=address,
                                       order_number=OrderNumberGenerator().order_number(basket))
            basket.submit()
            t2 = time.perf_counter()
            if warm > 0:
                warm -= 1
                started = t2
                continue
            basket_s += t1 - t0
            place_s += t2 - t1
            basket_queries += q1 - q0
            place_queries += counting.n - q1
            orders += 1
    wall = time.perf_counter() - started
    placed = Order.objects.count() - before - 3
    allocated = StockRecord.objects.aggregate(n=Sum("num_allocated"))["n"] or 0
    return {"orders": orders, "orders_in_database": placed, "allocated_units": allocated,
            "wall_seconds": round(wall, 3), "place_seconds": round(place_s, 3), "basket_seconds": round(basket_s, 3),
            "orders_per_s": orders / place_s if place_s else None, "orders_per_s_with_basket": orders / wall,
            "sql_per_order": place_queries / orders if orders else None,
            "sql_per_basket": basket_queries / orders if orders else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--products", type=int, default=500)
    s.add_argument("--users", type=int, default=200)
    r = sub.add_parser("run")
    r.add_argument("--seconds", type=float, default=10.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--hot", action="store_true", help="always the same product")
    args = parser.parse_args()
    result = setup(args.products, args.users) if args.command == "setup" else run(args.seconds, args.seed, args.hot)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
