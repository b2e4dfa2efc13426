"""The sprint report and scope ledger, from the sprint's slice of the event log."""
