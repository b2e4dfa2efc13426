"""Comments on items: markdown notes that members add and authors edit."""
