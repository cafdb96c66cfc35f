"""Group buying (拼团): pay, open a group, invite; full groups succeed, unfilled ones are refunded in full.

``rules`` holds the pure rules (price tiers, the group state machine, outcomes at the deadline, masked
nicknames); ``campaigns`` the console's campaigns; ``seats`` the price source checkout calls (a seat in
a group is taken in the order's transaction); ``groups`` what happens to a group afterwards (payments,
cancellations, refunds, the deadline); ``queries`` the group pages and lists; ``ports`` what this module
needs from ``orders``, which it sits beside and cannot import.
"""
