"""Planning poker: estimation rounds on items, hidden votes, reveals, and sessions."""
