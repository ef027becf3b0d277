"""After-sales: return / exchange / quality tickets for verified orders, with shopper photos."""
