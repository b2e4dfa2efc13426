"""Risk register: a project's risks, scored by probability and impact, with their history."""
