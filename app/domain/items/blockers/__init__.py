"""Blockers on items: raised by stand-ups or by hand, open until cleared; the board flags them."""
