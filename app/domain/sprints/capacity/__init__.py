"""Sprint capacity: members' availability and days off, person-days, a suggested commitment."""
