"""Per-shop customers identified by their WeChat openid."""
