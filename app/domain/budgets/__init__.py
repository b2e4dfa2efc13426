"""The project budget: hours and money planned, hourly rates, burn and projection."""
