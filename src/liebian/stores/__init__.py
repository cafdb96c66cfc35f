"""Physical stores: coordinates, nearby search (LBS), pickup, table codes and queue numbers."""
