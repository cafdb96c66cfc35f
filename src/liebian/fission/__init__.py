"""Fission: share codes, visits, binding (锁客), attribution, QR codes and posters."""
