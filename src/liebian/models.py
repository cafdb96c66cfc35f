"""Every table's model, imported so that Alembic and ``liebian check`` see the whole schema."""

from liebian.analytics import models as analytics_models
from liebian.bargain import models as bargain_models
from liebian.campaigns import models as campaigns_models
from liebian.catalog import models as catalog_models
from liebian.community import models as community_models
from liebian.coupons import models as coupons_models
from liebian.customers import links as customers_links
from liebian.customers import models as customers_models
from liebian.distribution import models as distribution_models
from liebian.fission import models as fission_models
from liebian.flashsale import models as flashsale_models
from liebian.groupbuy import models as groupbuy_models
from liebian.kit import models as kit_models
from liebian.kit import security_models as kit_security_models
from liebian.kit.db import Base
from liebian.ledger import models as ledger_models
from liebian.miniapp import models as miniapp_models
from liebian.orders import models as orders_models
from liebian.payments import models as payments_models
from liebian.payouts import models as payouts_models
from liebian.shops import models as shops_models
from liebian.stores import models as stores_models

__all__ = ["Base", "analytics_models", "bargain_models", "campaigns_models", "catalog_models", "community_models",
           "coupons_models", "customers_links", "customers_models", "distribution_models", "fission_models",
           "flashsale_models", "groupbuy_models", "kit_models", "kit_security_models", "ledger_models",
           "miniapp_models", "orders_models", "payments_models", "payouts_models", "shops_models", "stores_models"]
