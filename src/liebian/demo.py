"""The demo shop that ``make run`` seeds: products with SKUs and stock, customers, an owner account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.catalog.schemas import ProductIn, SkuIn
from liebian.customers import service as customers
from liebian.customers.identity import SandboxIdentity
from liebian.kit.errors import NotFound
from liebian.shops import service as shops

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.liebian.local"
# A sandbox-only demo account on the operator's own machine; live mode refuses to seed it.
DEMO_PASSWORD = "liebian-demo"

PRODUCTS: list[tuple[str, str, str, list[tuple[dict[str, str], int, int]]]] = [
    ("赣南脐橙 5斤装", "生鲜水果", "江西赣南原产地直发，现摘现发，酸甜多汁。",
     [({"规格": "5斤装"}, 3990, 200), ({"规格": "10斤装"}, 6990, 120)]),
    ("云南高山普洱茶饼", "茶饮", "357克生茶饼，古树原料，适合收藏与日常品饮。",
     [({"年份": "2019"}, 16800, 50), ({"年份": "2015"}, 32800, 20)]),
    ("纯棉亲肤T恤", "服饰", "新疆长绒棉，透气不起球，多色可选。",
     [({"颜色": "白", "尺码": "M"}, 5900, 80), ({"颜色": "白", "尺码": "L"}, 5900, 80),
      ({"颜色": "黑", "尺码": "M"}, 5900, 60), ({"颜色": "黑", "尺码": "L"}, 5900, 60)]),
    ("手工红糖姜茶", "茶饮", "古法熬制，独立小包装，冬日暖身。", [({"规格": "12袋"}, 2990, 300)]),
    ("五常稻花香大米", "粮油", "黑龙江五常核心产区，当季新米。",
     [({"规格": "5kg"}, 8990, 150), ({"规格": "10kg"}, 16900, 60)]),
    ("不锈钢保温杯", "家居", "316不锈钢内胆，12小时保温。", [({"容量": "500ml"}, 7900, 100)]),
]
CUSTOMERS = ["小明", "小红", "阿强", "Lily"]


@dataclass(frozen=True)
class DemoShop:
    slug: str
    email: str
    password: str
    created: bool


async def seed(session: AsyncSession) -> DemoShop:
    """Create the demo shop once; later calls change nothing."""
    try:
        await shops.shop_by_slug(session, DEMO_SLUG)
        return DemoShop(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, created=False)
    except NotFound:
        pass
    shop, _ = await shops.create_shop(session, slug=DEMO_SLUG, name="裂变示范店", owner_email=DEMO_EMAIL,
                                      owner_password=DEMO_PASSWORD)
    for title, category, description, skus in PRODUCTS:
        await catalog.create_product(session, shop.id, ProductIn(
            title=title, category=category, description=description,
            skus=[SkuIn(specs=specs, price_fen=price, stock=stock) for specs, price, stock in skus]))
    for name in CUSTOMERS:
        identity = await SandboxIdentity().code2session(f"sandbox:{name}")
        await customers.login(session, shop_id=shop.id, openid=identity.openid, unionid=None, nickname=name)
    return DemoShop(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, created=True)
