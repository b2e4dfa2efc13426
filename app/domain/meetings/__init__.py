"""The ceremony schedule of a project and its iCalendar feed."""
