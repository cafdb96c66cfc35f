"""Ad and placement campaigns (Moments ads, official account): spend, landing codes, CAC and ROI."""
