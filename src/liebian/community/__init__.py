"""Content and community: posts linking products, likes, comments, moderation, communities."""
