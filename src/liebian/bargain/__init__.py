"""Bargain (砍价): friends cut the price, the last required helper lands on the floor."""
