"""Clients for the outside services Liebian talks to; they know nothing of Liebian's domain."""
