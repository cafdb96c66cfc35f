"""Mini-program services: the customer's phone number, subscribe messages and WeChat's order-shipping upload."""
