"""The H5 storefront (``/s/{shop}``) and the merchant console (``/console``).

Pages are server-rendered shells (Jinja2) whose scripts call the same JSON API a mini-program calls, with the
same sessions and shop scoping: there is no second copy of a business rule here. A page signs in with an
HttpOnly cookie holding the API's own token (``session.py``); changes need the session's anti-forgery header.
"""
