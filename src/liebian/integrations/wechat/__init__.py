"""WeChat: mini-program OpenAPI and WeChat Pay API v3, as thin protocol clients, plus an offline fake.

Facts and limits are from ``../shared/reference/wechat.md``; section numbers in comments refer to it.
"""
