"""Fission analytics (funnels, K-factor, cascades, virality, concentration, CAC) and KOL seeding by influence
maximization (IMM)."""
