"""Coupons (优惠券) and share red packets (分享红包 / 裂变券)."""
