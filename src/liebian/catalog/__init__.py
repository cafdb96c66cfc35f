"""Categories, products and SKUs with their stock."""
